/*
 * qemu_ea.c: assigned PCI devices with BARs at fixed guest addresses
 *            (PCI Enhanced Allocation)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <config.h>

#include "qemu_ea.h"
#include "qemu_domain.h"
#include "qemu_domain_address.h"

#include "viralloc.h"
#include "virerror.h"
#include "virlog.h"
#include "virstring.h"
#include "virpciea.h"
#include "cpu/cpu.h"

#define VIR_FROM_THIS VIR_FROM_QEMU

VIR_LOG_INIT("qemu.qemu_ea");

/* The QEMU side of the feature is not upstream yet: these names follow the
 * proposed contract (docs/formatdomain-ea.rst) and are the only place to
 * change when QEMU settles on its own. */
const char qemuEANames[QEMU_EA_NAME_LAST][QEMU_EA_NAME_SIZE] = {
    [QEMU_EA_NAME_VFIO_EA] = "x-ea",
    [QEMU_EA_NAME_VFIO_BAR0_ADDR] = "x-ea-bar0-addr",
    [QEMU_EA_NAME_VFIO_BAR1_ADDR] = "x-ea-bar1-addr",
    [QEMU_EA_NAME_VFIO_BAR2_ADDR] = "x-ea-bar2-addr",
    [QEMU_EA_NAME_VFIO_BAR3_ADDR] = "x-ea-bar3-addr",
    [QEMU_EA_NAME_VFIO_BAR4_ADDR] = "x-ea-bar4-addr",
    [QEMU_EA_NAME_VFIO_BAR5_ADDR] = "x-ea-bar5-addr",
    [QEMU_EA_NAME_VFIO_BAR0_SIZE] = "x-ea-bar0-size",
    [QEMU_EA_NAME_VFIO_BAR1_SIZE] = "x-ea-bar1-size",
    [QEMU_EA_NAME_VFIO_BAR2_SIZE] = "x-ea-bar2-size",
    [QEMU_EA_NAME_VFIO_BAR3_SIZE] = "x-ea-bar3-size",
    [QEMU_EA_NAME_VFIO_BAR4_SIZE] = "x-ea-bar4-size",
    [QEMU_EA_NAME_VFIO_BAR5_SIZE] = "x-ea-bar5-size",
    [QEMU_EA_NAME_VFIO_ROMBAR] = "rombar",
    [QEMU_EA_NAME_VFIO_NV_CLIQUE] = "x-nv-gpudirect-clique",
    [QEMU_EA_NAME_MACHINE_FIXED_MMIO] = "x-fixed-mmio",
    [QEMU_EA_NAME_MACHINE_FIXED_MMIO_BASE] = "base",
    [QEMU_EA_NAME_MACHINE_FIXED_MMIO_SIZE] = "size",
    [QEMU_EA_NAME_PORT_IO_RESERVE] = "io-reserve",
    [QEMU_EA_NAME_PORT_MEM_RESERVE] = "mem-reserve",
    [QEMU_EA_NAME_PORT_PREF64_RESERVE] = "pref64-reserve",
};

G_STATIC_ASSERT(QEMU_EA_NAME_VFIO_BAR5_ADDR - QEMU_EA_NAME_VFIO_BAR0_ADDR ==
                VIR_PCI_EA_NUM_BARS - 1);
G_STATIC_ASSERT(QEMU_EA_NAME_VFIO_BAR5_SIZE - QEMU_EA_NAME_VFIO_BAR0_SIZE ==
                VIR_PCI_EA_NUM_BARS - 1);


/* Isolation group given to the buses of EA hierarchies, far from the ones
 * derived from IOMMU groups (group + 1) and from the synthetic ones counted
 * down from UINT_MAX, see qemu_domain_address.c */
#define QEMU_EA_ISOLATION_GROUP 0x80000000U

/* Guest PCI bus numbers and PCI controller indexes are 0-255 */
#define QEMU_EA_MAX_PCI_BUSES 256


static virDomainControllerDef *
qemuEAGetPCIController(const virDomainDef *def,
                       int idx)
{
    int pos = virDomainControllerFind(def, VIR_DOMAIN_CONTROLLER_TYPE_PCI, idx);

    if (pos < 0)
        return NULL;

    return def->controllers[pos];
}


/* The PCI controller a device with @info is plugged into, or NULL */
static virDomainControllerDef *
qemuEAGetParent(const virDomainDef *def,
                const virDomainDeviceInfo *info)
{
    if (info->type != VIR_DOMAIN_DEVICE_ADDRESS_TYPE_PCI)
        return NULL;

    return qemuEAGetPCIController(def, info->addr.pci.bus);
}


/* The PCI controllers of @def by index, so that the
 * walks up a hierarchy below cost one lookup per level, not a search of
 * all controllers: they run for every device of a domain. */
static virDomainControllerDef **
qemuEAIndexControllers(const virDomainDef *def)
{
    virDomainControllerDef **byIdx = g_new0(virDomainControllerDef *, QEMU_EA_MAX_PCI_BUSES);
    size_t i;

    for (i = 0; i < def->ncontrollers; i++) {
        virDomainControllerDef *cont = def->controllers[i];

        if (cont->type == VIR_DOMAIN_CONTROLLER_TYPE_PCI &&
            cont->idx >= 0 && cont->idx < QEMU_EA_MAX_PCI_BUSES &&
            !byIdx[cont->idx])
            byIdx[cont->idx] = cont;
    }

    return byIdx;
}


/**
 * qemuEAMachineIsSupported:
 * @machine: machine type
 * @arch: guest architecture
 *
 * Returns true for the machine types that can give devices fixed BARs:
 * q35 on x86_64 and virt on aarch64.
 */
bool
qemuEAMachineIsSupported(const char *machine,
                         virArch arch)
{
    return (arch == VIR_ARCH_X86_64 && qemuDomainMachineIsQ35(machine, arch)) ||
           (arch == VIR_ARCH_AARCH64 && qemuDomainMachineIsARMVirt(machine, arch));
}


static bool
qemuEAIsRootBusModel(int model)
{
    return model == VIR_DOMAIN_CONTROLLER_MODEL_PCI_ROOT ||
           model == VIR_DOMAIN_CONTROLLER_MODEL_PCIE_ROOT ||
           model == VIR_DOMAIN_CONTROLLER_MODEL_PCI_EXPANDER_BUS ||
           model == VIR_DOMAIN_CONTROLLER_MODEL_PCIE_EXPANDER_BUS;
}


/* The root bus (pcie-root or an expander bus) whose hierarchy the device
 * with @info is part of, or NULL; @byIdx from qemuEAIndexControllers().
 * A malformed definition whose buses form a loop ends the walk after as
 * many levels as there are buses. */
static virDomainControllerDef *
qemuEAGetRootBus(virDomainControllerDef **byIdx,
                 const virDomainDeviceInfo *info)
{
    size_t depth;

    for (depth = 0; depth < QEMU_EA_MAX_PCI_BUSES; depth++) {
        virDomainControllerDef *parent = NULL;

        if (info->type == VIR_DOMAIN_DEVICE_ADDRESS_TYPE_PCI &&
            info->addr.pci.bus < QEMU_EA_MAX_PCI_BUSES)
            parent = byIdx[info->addr.pci.bus];

        if (!parent || qemuEAIsRootBusModel(parent->model))
            return parent;

        info = &parent->info;
    }

    return NULL;
}


/* How many bus numbers the hierarchy of the root bus @root takes: its own
 * and one for every bridge or port in it */
static unsigned int
qemuEACountBusNumbers(const virDomainDef *def,
                      const virDomainControllerDef *root)
{
    g_autofree virDomainControllerDef **byIdx = NULL;
    unsigned int count = 1;
    size_t i;

    byIdx = qemuEAIndexControllers(def);

    for (i = 0; i < def->ncontrollers; i++) {
        const virDomainControllerDef *cont = def->controllers[i];

        if (cont->type == VIR_DOMAIN_CONTROLLER_TYPE_PCI &&
            !qemuEAIsRootBusModel(cont->model) &&
            qemuEAGetRootBus(byIdx, &cont->info) == root)
            count++;
    }

    return count;
}


/* The pcie-expander-bus whose hierarchy the host device with <fixedBar>
 * @hostdev is part of, or NULL */
static virDomainControllerDef *
qemuEAGetHostdevPxb(virDomainControllerDef **byIdx,
                    const virDomainHostdevDef *hostdev)
{
    virDomainControllerDef *root = qemuEAGetRootBus(byIdx, hostdev->info);

    if (!root || root->model != VIR_DOMAIN_CONTROLLER_MODEL_PCIE_EXPANDER_BUS)
        return NULL;

    return root;
}


/* The indexes of the EA pxbs of @def (see qemuEAIsEAPxb()), found in one
 * pass for functions that ask for many controllers */
static virBitmap *
qemuEAGetEAPxbs(const virDomainDef *def)
{
    g_autofree virDomainControllerDef **byIdx = NULL;
    virBitmap *pxbs = virBitmapNew(QEMU_EA_MAX_PCI_BUSES);
    size_t i;

    /* most domains have none, and this runs for their devices too */
    for (i = 0; i < def->nhostdevs && !def->hostdevs[i]->fixedBar; i++)
        ;
    if (i == def->nhostdevs)
        return pxbs;

    byIdx = qemuEAIndexControllers(def);

    for (; i < def->nhostdevs; i++) {
        virDomainControllerDef *pxb;

        if (def->hostdevs[i]->fixedBar &&
            (pxb = qemuEAGetHostdevPxb(byIdx, def->hostdevs[i])))
            ignore_value(virBitmapSetBit(pxbs, pxb->idx));
    }

    return pxbs;
}


/**
 * qemuEAIsEAPxb:
 * @def: domain definition
 * @cont: controller
 *
 * Returns true if @cont is a pcie-expander-bus with at least one device
 * with <fixedBar> below it.
 */
static bool
qemuEAIsEAPxb(const virDomainDef *def,
              const virDomainControllerDef *cont)
{
    g_autoptr(virBitmap) eaPxbs = NULL;

    if (cont->type != VIR_DOMAIN_CONTROLLER_TYPE_PCI ||
        cont->model != VIR_DOMAIN_CONTROLLER_MODEL_PCIE_EXPANDER_BUS ||
        cont->idx < 0 || cont->idx >= QEMU_EA_MAX_PCI_BUSES)
        return false;

    eaPxbs = qemuEAGetEAPxbs(def);
    return virBitmapIsBitSet(eaPxbs, cont->idx);
}


/* The controllers that make up the hierarchy below an EA pxb */
static bool
qemuEAIsBridgeModel(int model)
{
    return model == VIR_DOMAIN_CONTROLLER_MODEL_PCIE_ROOT_PORT ||
           model == VIR_DOMAIN_CONTROLLER_MODEL_PCIE_SWITCH_UPSTREAM_PORT ||
           model == VIR_DOMAIN_CONTROLLER_MODEL_PCIE_SWITCH_DOWNSTREAM_PORT;
}


/* The EA pxb whose hierarchy @cont is part of if it is a pcie-root-port
 * or a port of a PCIe switch, or NULL */
static virDomainControllerDef *
qemuEAGetBridgePxb(const virDomainDef *def,
                   const virDomainControllerDef *cont)
{
    g_autofree virDomainControllerDef **byIdx = NULL;
    virDomainControllerDef *pxb;
    size_t i;

    if (cont->type != VIR_DOMAIN_CONTROLLER_TYPE_PCI ||
        !qemuEAIsBridgeModel(cont->model))
        return NULL;

    byIdx = qemuEAIndexControllers(def);
    if (!(pxb = qemuEAGetRootBus(byIdx, &cont->info)) ||
        pxb->model != VIR_DOMAIN_CONTROLLER_MODEL_PCIE_EXPANDER_BUS)
        return NULL;

    /* a device with <fixedBar> in the port itself settles it at once */
    for (i = 0; i < def->nhostdevs; i++) {
        const virDomainDeviceInfo *info = def->hostdevs[i]->info;

        if (def->hostdevs[i]->fixedBar &&
            info->type == VIR_DOMAIN_DEVICE_ADDRESS_TYPE_PCI &&
            info->addr.pci.bus == cont->idx)
            return pxb;
    }

    if (!qemuEAIsEAPxb(def, pxb))
        return NULL;

    return pxb;
}


/**
 * qemuEAIsEAPort:
 * @def: domain definition
 * @cont: controller
 *
 * Returns true if @cont is a pcie-root-port plugged into a
 * pcie-expander-bus for which qemuEAIsEAPxb() is true, whether a device
 * is plugged into the port or not.
 */
bool
qemuEAIsEAPort(const virDomainDef *def,
               const virDomainControllerDef *cont)
{
    return cont->type == VIR_DOMAIN_CONTROLLER_TYPE_PCI &&
           cont->model == VIR_DOMAIN_CONTROLLER_MODEL_PCIE_ROOT_PORT &&
           qemuEAGetBridgePxb(def, cont);
}


/* Whether @cont is a pcie-root-port or a PCIe switch port below one of
 * the EA pxbs @eaPxbs from qemuEAGetEAPxbs(); @byIdx from
 * qemuEAIndexControllers() */
static bool
qemuEAIsEABridgeOf(virDomainControllerDef **byIdx,
                   const virDomainControllerDef *cont,
                   virBitmap *eaPxbs)
{
    const virDomainControllerDef *root;

    return cont->type == VIR_DOMAIN_CONTROLLER_TYPE_PCI &&
           qemuEAIsBridgeModel(cont->model) &&
           (root = qemuEAGetRootBus(byIdx, &cont->info)) &&
           root->idx >= 0 && virBitmapIsBitSet(eaPxbs, root->idx);
}


static const virDomainHostdevDef *
qemuEADeviceGetFixedBarHostdev(const virDomainDeviceDef *dev)
{
    if (dev->type == VIR_DOMAIN_DEVICE_HOSTDEV && dev->data.hostdev->fixedBar)
        return dev->data.hostdev;

    if (dev->type == VIR_DOMAIN_DEVICE_NET &&
        dev->data.net->type == VIR_DOMAIN_NET_TYPE_HOSTDEV &&
        dev->data.net->data.hostdev.def.fixedBar)
        return &dev->data.net->data.hostdev.def;

    return NULL;
}


/* How error messages name a device that is not a host device with
 * <fixedBar> */
static char *
qemuEADeviceDescribe(const virDomainDeviceDef *dev,
                     const virDomainDeviceInfo *info)
{
    g_autofree char *guestAddr = virPCIDeviceAddressAsString(&info->addr.pci);

    if (dev->type == VIR_DOMAIN_DEVICE_CONTROLLER) {
        const virDomainControllerDef *cont = dev->data.controller;

        return g_strdup_printf("%s controller with index %d",
                               virDomainControllerModelPCITypeToString(cont->model),
                               cont->idx);
    }

    if (dev->type == VIR_DOMAIN_DEVICE_HOSTDEV &&
        dev->data.hostdev->mode == VIR_DOMAIN_HOSTDEV_MODE_SUBSYS &&
        dev->data.hostdev->source.subsys.type == VIR_DOMAIN_HOSTDEV_SUBSYS_TYPE_PCI) {
        g_autofree char *hostAddr = NULL;

        hostAddr = virPCIDeviceAddressAsString(&dev->data.hostdev->source.subsys.u.pci.addr);
        return g_strdup_printf("host device %s at guest PCI address %s",
                               hostAddr, guestAddr);
    }

    return g_strdup_printf("%s device at guest PCI address %s",
                           virDomainDeviceTypeToString(dev->type), guestAddr);
}


/**
 * qemuEAValidatePort:
 * @cont: pcie-root-port or PCIe switch port for which qemuEAGetBridgePxb()
 *        is @pxb
 * @pxb: the pcie-expander-bus its hierarchy is part of
 *
 * The command line switches every firmware reservation off on a root port
 * (qemuEABuildPortProps()) and hotplug is off on root and downstream
 * ports (qemuEAAssignPlacement()); refuse a configuration asking for the
 * opposite rather than overriding it silently.
 *
 * Returns 0 on success, -1 on error (reported).
 */
static int
qemuEAValidatePort(const virDomainControllerDef *cont,
                   const virDomainControllerDef *pxb)
{
    const virDomainPCIControllerOpts *pciopts = &cont->opts.pciopts;
    const char *model = virDomainControllerModelPCITypeToString(cont->model);
    virDomainControllerPCIModelName modelName = VIR_DOMAIN_CONTROLLER_PCI_MODEL_NAME_PCIE_ROOT_PORT;

    if (cont->model == VIR_DOMAIN_CONTROLLER_MODEL_PCIE_SWITCH_UPSTREAM_PORT)
        modelName = VIR_DOMAIN_CONTROLLER_PCI_MODEL_NAME_X3130_UPSTREAM;
    else if (cont->model == VIR_DOMAIN_CONTROLLER_MODEL_PCIE_SWITCH_DOWNSTREAM_PORT)
        modelName = VIR_DOMAIN_CONTROLLER_PCI_MODEL_NAME_XIO3130_DOWNSTREAM;

    if (pciopts->modelName != VIR_DOMAIN_CONTROLLER_PCI_MODEL_NAME_NONE &&
        pciopts->modelName != modelName) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("%1$s with index %2$d is below pcie-expander-bus with index %3$d, which holds host devices with <fixedBar>, and must use model name '%4$s', not '%5$s'"),
                       model, cont->idx, pxb->idx,
                       virDomainControllerPCIModelNameTypeToString(modelName),
                       virDomainControllerPCIModelNameTypeToString(pciopts->modelName));
        return -1;
    }

    if (pciopts->hotplug == VIR_TRISTATE_SWITCH_ON) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("%1$s with index %2$d is below pcie-expander-bus with index %3$d, which holds host devices with <fixedBar>, and cannot have hotplug enabled, remove hotplug='on'"),
                       model, cont->idx, pxb->idx);
        return -1;
    }

    if (pciopts->memReserve) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("%1$s with index %2$d is below pcie-expander-bus with index %3$d, which holds host devices with <fixedBar>, and cannot reserve memory, remove memReserve"),
                       model, cont->idx, pxb->idx);
        return -1;
    }

    return 0;
}


/**
 * qemuEAValidateDeviceAddress:
 * @dev: any device
 * @info: its address information
 * @def: domain definition
 *
 * A pcie-expander-bus that holds devices with <fixedBar> (an EA pxb) holds
 * pcie-root-ports only; they and the downstream ports of PCIe switches
 * below them hold host devices with <fixedBar> or the upstream port of a
 * switch: EA hierarchies are never shared with devices whose BARs
 * firmware or the guest program.
 *
 * Returns 0 on success, -1 on error (reported).
 */
int
qemuEAValidateDeviceAddress(const virDomainDeviceDef *dev,
                            const virDomainDeviceInfo *info,
                            const virDomainDef *def)
{
    const virDomainControllerDef *parent = qemuEAGetParent(def, info);
    const virDomainControllerDef *cont = NULL;
    const virDomainControllerDef *pxb;
    g_autofree char *desc = NULL;

    if (!parent)
        return 0;

    if (dev->type == VIR_DOMAIN_DEVICE_CONTROLLER &&
        dev->data.controller->type == VIR_DOMAIN_CONTROLLER_TYPE_PCI)
        cont = dev->data.controller;

    if (cont && (pxb = qemuEAGetBridgePxb(def, cont)) &&
        qemuEAValidatePort(cont, pxb) < 0)
        return -1;

    if (qemuEAIsEAPxb(def, parent)) {
        if (cont && cont->model == VIR_DOMAIN_CONTROLLER_MODEL_PCIE_ROOT_PORT)
            return 0;

        desc = qemuEADeviceDescribe(dev, info);
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("%1$s is plugged into pcie-expander-bus with index %2$d, which holds host devices with <fixedBar>; only pcie-root-ports can be plugged into it, move it to another bus"),
                       desc, parent->idx);
        return -1;
    }

    if (!(pxb = qemuEAGetBridgePxb(def, parent)))
        return 0;

    /* the generic PCI address checks let only downstream ports into an
     * upstream port */
    if (parent->model == VIR_DOMAIN_CONTROLLER_MODEL_PCIE_SWITCH_UPSTREAM_PORT ||
        qemuEADeviceGetFixedBarHostdev(dev) ||
        (cont && cont->model == VIR_DOMAIN_CONTROLLER_MODEL_PCIE_SWITCH_UPSTREAM_PORT))
        return 0;

    desc = qemuEADeviceDescribe(dev, info);
    virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                   _("%1$s is plugged into %2$s with index %3$d below pcie-expander-bus with index %4$d, which holds host devices with <fixedBar>; only host devices with <fixedBar> and pcie-switch-upstream-ports can be plugged in there, move it to another bus"),
                   desc, virDomainControllerModelPCITypeToString(parent->model),
                   parent->idx, pxb->idx);
    return -1;
}


/* The host device with a PCI address at function @function of slot 0 of
 * bus @bus, or NULL */
static virDomainHostdevDef *
qemuEAGetPortFunction(const virDomainDef *def,
                      int bus,
                      unsigned int function)
{
    size_t i;

    for (i = 0; i < def->nhostdevs; i++) {
        virDomainDeviceInfo *info = def->hostdevs[i]->info;

        if (info->type == VIR_DOMAIN_DEVICE_ADDRESS_TYPE_PCI &&
            info->addr.pci.bus == bus && info->addr.pci.slot == 0 &&
            info->addr.pci.function == function)
            return def->hostdevs[i];
    }

    return NULL;
}


/* A device with fixed BARs sits at slot 0 of a pcie-root-port plugged
 * into a pcie-expander-bus, or of a downstream port of a PCIe switch
 * whose upstream port sits in turn at slot 0 of such a port. */
static int
qemuEAValidatePlacement(const virDomainHostdevDef *hostdev,
                        const virDomainDef *def,
                        const char *hostAddr)
{
    const virDomainDeviceInfo *info = hostdev->info;
    const virDomainControllerDef *port = qemuEAGetParent(def, info);
    size_t depth;

    /* virDomainHostdevDefValidate() refuses other address types */
    if (info->type != VIR_DOMAIN_DEVICE_ADDRESS_TYPE_PCI)
        return 0;

    if (!port) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("host device %1$s with <fixedBar> has no guest PCI address on an existing controller, remove its <address> to let libvirt place it"),
                       hostAddr);
        return -1;
    }

    if ((port->model != VIR_DOMAIN_CONTROLLER_MODEL_PCIE_ROOT_PORT &&
         port->model != VIR_DOMAIN_CONTROLLER_MODEL_PCIE_SWITCH_DOWNSTREAM_PORT) ||
        info->addr.pci.slot != 0) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("host device %1$s with <fixedBar> is plugged into %2$s controller with index %3$d, but must sit at slot 0 of a pcie-root-port or pcie-switch-downstream-port below a pcie-expander-bus, remove its <address> to let libvirt place it"),
                       hostAddr,
                       virDomainControllerModelPCITypeToString(port->model),
                       port->idx);
        return -1;
    }

    if (info->addr.pci.function != 0 &&
        !qemuEAGetPortFunction(def, port->idx, 0)) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("host device %1$s with <fixedBar> sits at function %2$u of %3$s controller with index %4$d, whose function 0 is empty, and a guest does not look for the other functions of such a slot; put a device at function 0 or remove the device's <address> to let libvirt place it"),
                       hostAddr, info->addr.pci.function,
                       virDomainControllerModelPCITypeToString(port->model),
                       port->idx);
        return -1;
    }

    /* downstream port, upstream port at slot 0 of a port, ..., root
     * port, pxb; a definition whose buses loop ends the walk */
    for (depth = 0; depth < QEMU_EA_MAX_PCI_BUSES; depth++) {
        const virDomainControllerDef *parent = qemuEAGetParent(def, &port->info);
        const virDomainControllerDef *upstream = parent;

        if (port->model == VIR_DOMAIN_CONTROLLER_MODEL_PCIE_ROOT_PORT) {
            if (parent && parent->model == VIR_DOMAIN_CONTROLLER_MODEL_PCIE_EXPANDER_BUS)
                return 0;
            break;
        }

        if (!upstream ||
            upstream->model != VIR_DOMAIN_CONTROLLER_MODEL_PCIE_SWITCH_UPSTREAM_PORT ||
            upstream->info.type != VIR_DOMAIN_DEVICE_ADDRESS_TYPE_PCI ||
            upstream->info.addr.pci.slot != 0 ||
            !(parent = qemuEAGetParent(def, &upstream->info)) ||
            (parent->model != VIR_DOMAIN_CONTROLLER_MODEL_PCIE_ROOT_PORT &&
             parent->model != VIR_DOMAIN_CONTROLLER_MODEL_PCIE_SWITCH_DOWNSTREAM_PORT))
            break;

        port = parent;
    }

    virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                   _("host device %1$s with <fixedBar> is below %2$s with index %3$d, which is not plugged into a pcie-expander-bus or, through the upstream port of a PCIe switch at slot 0, into another such port; remove the device's <address> to let libvirt place it"),
                   hostAddr, virDomainControllerModelPCITypeToString(port->model),
                   port->idx);
    return -1;
}


/* How many PCI bus numbers the machine of @def has: 256, except on arm
 * virt machines older than 3.0, whose ECAM, below 4 GiB, covers 16 buses
 * (QEMU's no_highmem_ecam; later ones put it above RAM, for 256). */
static int
qemuEAMaxBusNumbers(const virDomainDef *def)
{
    const char *version;
    char *end;
    unsigned int major;

    if (def->os.arch == VIR_ARCH_AARCH64 &&
        (version = STRSKIP(def->os.machine, "virt-")) &&
        virStrToLong_ui(version, &end, 10, &major) == 0 && *end == '.' &&
        major < 3)
        return 16;

    return QEMU_EA_MAX_PCI_BUSES;
}


/* Bus numbers: firmware numbers the buses of each root bus from its busNr
 * (0 for pcie-root) upwards, one for each bridge or port in its hierarchy,
 * and they must stay below the busNr of the next root bus (or 256). */
static int
qemuEARootBusCompare(const void *a,
                     const void *b,
                     void *opaque G_GNUC_UNUSED)
{
    const virDomainControllerDef *ca = *(const virDomainControllerDef * const *)a;
    const virDomainControllerDef *cb = *(const virDomainControllerDef * const *)b;
    int bnA = ca->model == VIR_DOMAIN_CONTROLLER_MODEL_PCIE_ROOT ? 0 : ca->opts.pciopts.busNr;
    int bnB = cb->model == VIR_DOMAIN_CONTROLLER_MODEL_PCIE_ROOT ? 0 : cb->opts.pciopts.busNr;

    return bnA - bnB;
}


static int
qemuEAValidateBusNumbers(const virDomainDef *def)
{
    g_autofree const virDomainControllerDef **roots = NULL;
    g_autoptr(virBitmap) eaPxbs = qemuEAGetEAPxbs(def);
    int maxBuses = qemuEAMaxBusNumbers(def);
    size_t nroots = 0;
    size_t i;

    /* libvirt does not check the bus numbers of domains without EA
     * hierarchies, keep it that way */
    if (virBitmapIsAllClear(eaPxbs))
        return 0;

    roots = g_new0(const virDomainControllerDef *, def->ncontrollers);

    for (i = 0; i < def->ncontrollers; i++) {
        const virDomainControllerDef *cont = def->controllers[i];

        if (cont->type != VIR_DOMAIN_CONTROLLER_TYPE_PCI)
            continue;

        if (cont->model == VIR_DOMAIN_CONTROLLER_MODEL_PCIE_ROOT ||
            (cont->model == VIR_DOMAIN_CONTROLLER_MODEL_PCIE_EXPANDER_BUS &&
             cont->opts.pciopts.busNr >= 0))
            roots[nroots++] = cont;
    }

    g_qsort_with_data(roots, nroots, sizeof(*roots), qemuEARootBusCompare, NULL);

    /* the highest busNr first: the ranges below count up to it */
    if (nroots > 0 && roots[nroots - 1]->opts.pciopts.busNr >= maxBuses) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("pcie-expander-bus with index %1$d has busNr %2$d, but machine type '%3$s' has PCI bus numbers 0 to %4$d only; give it a lower busNr or remove its busNr to let libvirt choose one"),
                       roots[nroots - 1]->idx, roots[nroots - 1]->opts.pciopts.busNr,
                       def->os.machine, maxBuses - 1);
        return -1;
    }

    for (i = 0; i < nroots; i++) {
        const virDomainControllerDef *root = roots[i];
        int busNr = root->model == VIR_DOMAIN_CONTROLLER_MODEL_PCIE_ROOT ? 0 : root->opts.pciopts.busNr;
        int next = i + 1 < nroots ? roots[i + 1]->opts.pciopts.busNr : maxBuses;
        unsigned int needed = qemuEACountBusNumbers(def, root);

        if ((int)needed <= next - busNr)
            continue;

        if (root->model == VIR_DOMAIN_CONTROLLER_MODEL_PCIE_ROOT) {
            virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                           _("not enough PCI bus numbers: pcie-root and the controllers below it need %1$u, but pcie-expander-bus with index %2$d starts at busNr %3$d; give it a higher busNr or remove controllers from pcie-root"),
                           needed, roots[i + 1]->idx, next);
        } else {
            virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                           _("not enough PCI bus numbers: pcie-expander-bus with index %1$d and the controllers below it need %2$u from its busNr %3$d, but only %4$d are available below %5$d; give it a lower busNr or remove controllers from it"),
                           root->idx, needed, busNr, next - busNr, next);
        }
        return -1;
    }

    return 0;
}


/**
 * qemuEAValidateDomain:
 * @def: domain definition, with PCI addresses assigned
 * @qemuCaps: capabilities of the QEMU binary
 *
 * Check the rules of <fixedBar> that involve the whole domain: every host
 * device with <fixedBar> passes qemuEAValidateHostdev() and sits at slot 0
 * of a pcie-root-port plugged into a pcie-expander-bus or of a switch
 * downstream port below one (see qemuEAValidatePlacement()), and the PCI
 * bus numbers suffice for every hierarchy. What else may sit in such a
 * hierarchy is checked device by device, see
 * qemuEAValidateDeviceAddress().
 *
 * Returns 0 on success, -1 on error (reported).
 */
int
qemuEAValidateDomain(const virDomainDef *def,
                     virQEMUCaps *qemuCaps)
{
    size_t i;

    for (i = 0; i < def->nhostdevs; i++) {
        const virDomainHostdevDef *hostdev = def->hostdevs[i];
        g_autofree char *hostAddr = NULL;

        if (!hostdev->fixedBar ||
            hostdev->source.subsys.type != VIR_DOMAIN_HOSTDEV_SUBSYS_TYPE_PCI)
            continue;

        if (qemuEAValidateHostdev(hostdev, def, qemuCaps) < 0)
            return -1;

        hostAddr = virPCIDeviceAddressAsString(&hostdev->source.subsys.u.pci.addr);
        if (qemuEAValidatePlacement(hostdev, def, hostAddr) < 0)
            return -1;
    }

    return qemuEAValidateBusNumbers(def);
}


/* Automatic placement (qemuEAAssignPlacement()): host devices with
 * <fixedBar> are grouped by what they share on the host, best first */
typedef enum {
    QEMU_EA_GROUP_ROOT_BUS,     /* the host root complex */
    QEMU_EA_GROUP_IOMMU,        /* the host IOMMU group */
    QEMU_EA_GROUP_DEVICE,       /* nothing: the device alone */
} qemuEAGroupKind;

typedef struct _qemuEAGroupKey qemuEAGroupKey;
struct _qemuEAGroupKey {
    qemuEAGroupKind kind;
    unsigned int domain;        /* PCI domain of the root bus */
    unsigned int id;            /* root bus, IOMMU group or device */
};

typedef struct _qemuEAPlacedDevice qemuEAPlacedDevice;
struct _qemuEAPlacedDevice {
    virDomainHostdevDef *hostdev;
    qemuEAGroupKey key;
    int numaNode;               /* host NUMA node, -1 if unknown */
    virPCIEABridge *switches;   /* see qemuEAGetHostSwitches() */
    size_t nswitches;
};


/* The PCIe switches above host device @addr, the topmost first: for
 * switch i, @ports[2 * i] is its upstream port and @ports[2 * i + 1] the
 * downstream port the device is below. None unless sysfs shows a root
 * port followed by pairs of upstream and downstream ports: a device
 * whose host tree is anything else is placed as if it had no switch. */
static void
qemuEAGetHostSwitches(const virPCIDeviceAddress *addr,
                      virPCIEABridge **ports,
                      size_t *nswitches)
{
    g_autofree virPCIEABridge *bridges = NULL;
    size_t nbridges = 0;
    size_t i;

    *ports = NULL;
    *nswitches = 0;

    if (virPCIEAGetBridges(addr, &bridges, &nbridges) < 0 || nbridges < 3)
        return;

    for (i = 1; i + 1 < nbridges; i += 2) {
        if (bridges[i].type != VIR_PCI_EA_BRIDGE_UPSTREAM_PORT ||
            bridges[i + 1].type != VIR_PCI_EA_BRIDGE_DOWNSTREAM_PORT)
            break;
    }

    if (bridges[0].type != VIR_PCI_EA_BRIDGE_ROOT_PORT || i != nbridges) {
        VIR_DEBUG("The host PCI tree above %04x:%02x:%02x.%x is no root port followed by PCIe switches, placing it as if it had none",
                  addr->domain, addr->bus, addr->slot, addr->function);
        return;
    }

    *nswitches = (nbridges - 1) / 2;
    *ports = g_new0(virPCIEABridge, nbridges - 1);
    memcpy(*ports, bridges + 1, sizeof(**ports) * (nbridges - 1));
}


/* What a device is grouped by. The host is read best-effort: the domain
 * may be defined on a host other than the one it runs on, so nothing
 * found is no error. */
static void
qemuEAGetGroupKey(virDomainHostdevDef *hostdev,
                  qemuEAGroupKey *key)
{
    virPCIDeviceAddress *addr = &hostdev->source.subsys.u.pci.addr;
    int group;

    if (virPCIEAGetRootBus(addr, &key->domain, &key->id) == 0) {
        key->kind = QEMU_EA_GROUP_ROOT_BUS;
        return;
    }

    if ((group = virPCIDeviceAddressGetIOMMUGroupNum(addr)) >= 0) {
        VIR_DEBUG("Grouping PCI device %04x:%02x:%02x.%x by IOMMU group: no host bridge found",
                  addr->domain, addr->bus, addr->slot, addr->function);
        key->kind = QEMU_EA_GROUP_IOMMU;
        key->domain = 0;
        key->id = group;
        return;
    }
    /* only a symlink that exists but cannot be resolved is reported */
    virResetLastError();

    VIR_DEBUG("Cannot find the host root complex or IOMMU group of PCI device %04x:%02x:%02x.%x, placing it alone",
              addr->domain, addr->bus, addr->slot, addr->function);
    key->kind = QEMU_EA_GROUP_DEVICE;
    key->domain = addr->domain;
    key->id = (addr->bus << 8) | (addr->slot << 3) | addr->function;
}


static int
qemuEAGroupKeyCompare(const qemuEAGroupKey *a,
                      const qemuEAGroupKey *b)
{
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    if (a->domain != b->domain)
        return a->domain < b->domain ? -1 : 1;
    if (a->id != b->id)
        return a->id < b->id ? -1 : 1;
    return 0;
}


static int
qemuEAPlacedDeviceCompare(const void *a,
                          const void *b,
                          void *opaque G_GNUC_UNUSED)
{
    const qemuEAPlacedDevice *da = a;
    const qemuEAPlacedDevice *db = b;
    const virPCIDeviceAddress *aa = &da->hostdev->source.subsys.u.pci.addr;
    const virPCIDeviceAddress *ab = &db->hostdev->source.subsys.u.pci.addr;
    int ret;

    if ((ret = qemuEAGroupKeyCompare(&da->key, &db->key)) != 0)
        return ret;

    if (aa->domain != ab->domain)
        return aa->domain < ab->domain ? -1 : 1;
    if (aa->bus != ab->bus)
        return aa->bus < ab->bus ? -1 : 1;
    if (aa->slot != ab->slot)
        return aa->slot < ab->slot ? -1 : 1;
    if (aa->function != ab->function)
        return aa->function < ab->function ? -1 : 1;
    return 0;
}


/* The guest NUMA cell for a pxb of devices on host NUMA node @hostNode:
 * the only guest cell whose memory <numatune> binds to that node, or -1 */
static int
qemuEAGetGuestCell(const virDomainDef *def,
                   int hostNode)
{
    size_t ncells = virDomainNumaGetNodeCount(def->numa);
    int cell = -1;
    size_t i;

    if (hostNode < 0)
        return -1;

    for (i = 0; i < ncells; i++) {
        virBitmap *nodeset;

        if (!virDomainNumatuneNodeSpecified(def->numa, i) ||
            !(nodeset = virDomainNumatuneGetNodeset(def->numa, NULL, i)) ||
            !virBitmapIsBitSet(nodeset, hostNode))
            continue;

        if (cell >= 0)
            return -1;
        cell = i;
    }

    return cell;
}


/* A fixedBar device that already sits below an EA pxb */
typedef struct _qemuEAPlacedGroup qemuEAPlacedGroup;
struct _qemuEAPlacedGroup {
    virDomainControllerDef *pxb;
    virDomainHostdevDef *hostdev;
    qemuEAGroupKey key;
};


/* The fixedBar devices of @def below an EA pxb, each with its group key */
static GArray *
qemuEAGetPlacedGroups(virDomainDef *def)
{
    GArray *placed = g_array_new(FALSE, FALSE, sizeof(qemuEAPlacedGroup));
    size_t i;

    g_autofree virDomainControllerDef **byIdx = qemuEAIndexControllers(def);

    for (i = 0; i < def->nhostdevs; i++) {
        virDomainHostdevDef *hostdev = def->hostdevs[i];
        qemuEAPlacedGroup group = { 0 };

        if (!hostdev->fixedBar ||
            !(group.pxb = qemuEAGetHostdevPxb(byIdx, hostdev)))
            continue;

        group.hostdev = hostdev;
        qemuEAGetGroupKey(hostdev, &group.key);
        g_array_append_val(placed, group);
    }

    return placed;
}


/* The EA pxb of @placed that holds a device with @key, or NULL */
static virDomainControllerDef *
qemuEAFindGroupPxb(GArray *placed,
                   const qemuEAGroupKey *key)
{
    size_t i;

    /* a device in a group of its own has no group to join */
    if (key->kind == QEMU_EA_GROUP_DEVICE)
        return NULL;

    for (i = 0; i < placed->len; i++) {
        qemuEAPlacedGroup *group = &g_array_index(placed, qemuEAPlacedGroup, i);

        if (qemuEAGroupKeyCompare(key, &group->key) == 0)
            return group->pxb;
    }

    return NULL;
}


/* The port of @model plugged into bus @bus that has nothing plugged into
 * it, as a device detached from the definition leaves it: the one at
 * @slot, or with @slot -1 the one at the lowest address; NULL if there is
 * none. @used has the bus of every PCI address in use set. */
static virDomainControllerDef *
qemuEAFindFreePort(const virDomainDef *def,
                   int model,
                   int bus,
                   int slot,
                   virBitmap *used)
{
    virDomainControllerDef *found = NULL;
    size_t i;

    for (i = 0; i < def->ncontrollers; i++) {
        virDomainControllerDef *port = def->controllers[i];

        if (port->type != VIR_DOMAIN_CONTROLLER_TYPE_PCI ||
            port->model != model ||
            port->info.type != VIR_DOMAIN_DEVICE_ADDRESS_TYPE_PCI ||
            port->info.addr.pci.bus != bus ||
            (slot >= 0 && port->info.addr.pci.slot != slot) ||
            port->idx < 0 || port->idx >= QEMU_EA_MAX_PCI_BUSES ||
            virBitmapIsBitSet(used, port->idx))
            continue;

        if (!found ||
            port->info.addr.pci.slot < found->info.addr.pci.slot ||
            (port->info.addr.pci.slot == found->info.addr.pci.slot &&
             port->info.addr.pci.function < found->info.addr.pci.function))
            found = port;
    }

    return found;
}


/* Whether a controller sits at @slot of bus @bus; only controllers can
 * sit on the buses placement plugs ports into */
static bool
qemuEASlotIsTaken(const virDomainDef *def,
                  int bus,
                  unsigned int slot)
{
    size_t i;

    for (i = 0; i < def->ncontrollers; i++) {
        const virDomainDeviceInfo *info = &def->controllers[i]->info;

        if (info->type == VIR_DOMAIN_DEVICE_ADDRESS_TYPE_PCI &&
            info->addr.pci.bus == bus && info->addr.pci.slot == slot)
            return true;
    }

    return false;
}


/* A new controller of @model with hotplug off where it has hotplug, at
 * @slot of @parent; @used gets the bus of @parent */
static virDomainControllerDef *
qemuEAAddController(virDomainDef *def,
                    int model,
                    virDomainControllerDef *parent,
                    unsigned int slot,
                    virBitmap *used)
{
    virDomainControllerDef *cont;

    cont = virDomainDefAddController(def, VIR_DOMAIN_CONTROLLER_TYPE_PCI,
                                     qemuDomainGetMaxPCIControllerIndex(def) + 1,
                                     model);
    if (model != VIR_DOMAIN_CONTROLLER_MODEL_PCIE_SWITCH_UPSTREAM_PORT)
        cont->opts.pciopts.hotplug = VIR_TRISTATE_SWITCH_OFF;
    cont->info.type = VIR_DOMAIN_DEVICE_ADDRESS_TYPE_PCI;
    cont->info.addr.pci.bus = parent->idx;
    cont->info.addr.pci.slot = slot;
    if (parent->idx >= 0 && parent->idx < QEMU_EA_MAX_PCI_BUSES)
        ignore_value(virBitmapSetBit(used, parent->idx));

    return cont;
}


/* A port of @model (a pcie-root-port, or a switch downstream port) on
 * @parent (a pcie-expander-bus or switch upstream port) with nothing in
 * it for @hostdev: an empty one at @slot, else a new one at @slot,
 * else an empty one, else a new one at the lowest free slot; with @slot
 * -1 only the last two. */
static virDomainControllerDef *
qemuEAGetPort(virDomainDef *def,
              int model,
              virDomainControllerDef *parent,
              int slot,
              const virDomainHostdevDef *hostdev,
              virBitmap *used)
{
    virDomainControllerDef *port;
    g_autofree char *hostAddr = NULL;
    size_t i;

    if (slot >= 0) {
        if ((port = qemuEAFindFreePort(def, model, parent->idx, slot, used)))
            return port;
        if (!qemuEASlotIsTaken(def, parent->idx, slot))
            return qemuEAAddController(def, model, parent, slot, used);
    }

    if ((port = qemuEAFindFreePort(def, model, parent->idx, -1, used)))
        return port;

    for (i = 0; i <= VIR_PCI_ADDRESS_SLOT_LAST; i++) {
        if (!qemuEASlotIsTaken(def, parent->idx, i))
            return qemuEAAddController(def, model, parent, i, used);
    }

    hostAddr = virPCIDeviceAddressAsString(&hostdev->source.subsys.u.pci.addr);
    virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                   _("cannot place host device %1$s with <fixedBar>: all 32 slots of %2$s with index %3$d are taken, and placement puts one %4$s in each; place the device by hand in a port at a function of a taken slot, or detach a device of the same host root complex or IOMMU group"),
                   hostAddr, virDomainControllerModelPCITypeToString(parent->model),
                   parent->idx, virDomainControllerModelPCITypeToString(model));
    return NULL;
}


/* A guest pcie-switch-upstream-port and the host switch it mirrors */
typedef struct _qemuEASwitchMap qemuEASwitchMap;
struct _qemuEASwitchMap {
    virPCIDeviceAddress host;           /* upstream port of the host switch */
    size_t level;                       /* its switch in the host paths, 0: topmost */
    virDomainControllerDef *guest;
};


static virDomainControllerDef *
qemuEASwitchMapFind(GArray *map,
                    const virPCIDeviceAddress *host)
{
    size_t i;

    for (i = 0; i < map->len; i++) {
        qemuEASwitchMap *entry = &g_array_index(map, qemuEASwitchMap, i);

        if (virPCIDeviceAddressEqual(&entry->host, host))
            return entry->guest;
    }

    return NULL;
}


static void
qemuEASwitchMapAdd(GArray *map,
                   const virPCIDeviceAddress *host,
                   size_t level,
                   virDomainControllerDef *guest)
{
    qemuEASwitchMap entry = { *host, level, guest };

    g_array_append_val(map, entry);
}


/* Whether guest controller @upper is above the device with @info */
static bool
qemuEAIsAbove(virDomainControllerDef **byIdx,
              const virDomainControllerDef *upper,
              const virDomainDeviceInfo *info)
{
    size_t depth;

    for (depth = 0; depth < QEMU_EA_MAX_PCI_BUSES; depth++) {
        const virDomainControllerDef *parent;

        if (info->type != VIR_DOMAIN_DEVICE_ADDRESS_TYPE_PCI ||
            info->addr.pci.bus >= QEMU_EA_MAX_PCI_BUSES ||
            !(parent = byIdx[info->addr.pci.bus]))
            return false;
        if (parent == upper)
            return true;
        info = &parent->info;
    }

    return false;
}


/* How many guest switch upstream ports are above @cont */
static size_t
qemuEASwitchDepth(virDomainControllerDef **byIdx,
                  const virDomainControllerDef *cont)
{
    const virDomainDeviceInfo *info = &cont->info;
    size_t depth = 0;
    size_t i;

    for (i = 0; i < QEMU_EA_MAX_PCI_BUSES; i++) {
        const virDomainControllerDef *parent;

        if (info->type != VIR_DOMAIN_DEVICE_ADDRESS_TYPE_PCI ||
            info->addr.pci.bus >= QEMU_EA_MAX_PCI_BUSES ||
            !(parent = byIdx[info->addr.pci.bus]))
            break;
        if (parent->model == VIR_DOMAIN_CONTROLLER_MODEL_PCIE_SWITCH_UPSTREAM_PORT)
            depth++;
        info = &parent->info;
    }

    return depth;
}


/* Which host switch each guest switch below @pxb mirrors, as far as the
 * @nplaced devices @placed below them tell: the lowest host switch above
 * all of them that is above what the guest switches below it mirror.
 * Guest switches whose devices share none are left out. */
static void
qemuEAMapGuestSwitches(const virDomainDef *def,
                       virDomainControllerDef **byIdx,
                       const virDomainControllerDef *pxb,
                       const qemuEAPlacedDevice *placed,
                       size_t nplaced,
                       GArray *map)
{
    g_autofree virDomainControllerDef **guests = g_new0(virDomainControllerDef *, def->ncontrollers);
    size_t nguests = 0;
    size_t depth;
    size_t maxDepth = 0;
    size_t i;
    size_t j;

    for (i = 0; i < def->ncontrollers; i++) {
        virDomainControllerDef *cont = def->controllers[i];

        if (cont->type == VIR_DOMAIN_CONTROLLER_TYPE_PCI &&
            cont->model == VIR_DOMAIN_CONTROLLER_MODEL_PCIE_SWITCH_UPSTREAM_PORT &&
            qemuEAGetRootBus(byIdx, &cont->info) == pxb) {
            guests[nguests++] = cont;
            maxDepth = MAX(maxDepth, qemuEASwitchDepth(byIdx, cont));
        }
    }

    /* the innermost first: they bound the host switch of the outer ones */
    for (depth = maxDepth + 1; depth > 0; depth--) {
        for (i = 0; i < nguests; i++) {
            virDomainControllerDef *guest = guests[i];
            const qemuEAPlacedDevice *first = NULL;
            size_t limit = SIZE_MAX;
            size_t level;

            if (qemuEASwitchDepth(byIdx, guest) != depth - 1)
                continue;

            for (j = 0; j < map->len; j++) {
                qemuEASwitchMap *inner = &g_array_index(map, qemuEASwitchMap, j);

                if (qemuEAIsAbove(byIdx, guest, &inner->guest->info))
                    limit = MIN(limit, inner->level);
            }

            for (j = 0; j < nplaced; j++) {
                if (!qemuEAIsAbove(byIdx, guest, placed[j].hostdev->info))
                    continue;
                if (!first)
                    first = &placed[j];
                limit = MIN(limit, placed[j].nswitches);
            }

            if (!first)
                continue;

            for (level = limit; level > 0; level--) {
                const virPCIDeviceAddress *host = &first->switches[2 * (level - 1)].addr;

                for (j = 0; j < nplaced; j++) {
                    if (qemuEAIsAbove(byIdx, guest, placed[j].hostdev->info) &&
                        !virPCIDeviceAddressEqual(&placed[j].switches[2 * (level - 1)].addr,
                                                  host))
                        break;
                }

                if (j == nplaced) {
                    qemuEASwitchMapAdd(map, host, level - 1, guest);
                    break;
                }
            }
        }
    }
}


static bool
qemuEAHostPortIn(GArray *set,
                 const virPCIDeviceAddress *addr)
{
    size_t i;

    for (i = 0; i < set->len; i++) {
        if (virPCIDeviceAddressEqual(&g_array_index(set, virPCIDeviceAddress, i), addr))
            return true;
    }

    return false;
}


static void
qemuEAHostPortAdd(GArray *set,
                  const virPCIDeviceAddress *addr)
{
    if (!qemuEAHostPortIn(set, addr))
        g_array_append_vals(set, addr, 1);
}


/* Add to @mirrored the upstream ports of the host switches that lie
 * between two of the @npeers devices @peers: the lowest switch above
 * both and every switch between it and either. Two functions of one
 * host device below one downstream port are one device. */
static void
qemuEAGetMirroredSwitches(const qemuEAPlacedDevice **peers,
                          size_t npeers,
                          GArray *mirrored)
{
    size_t a;
    size_t b;
    size_t j;

    for (a = 0; a < npeers; a++) {
        for (b = a + 1; b < npeers; b++) {
            const qemuEAPlacedDevice *da = peers[a];
            const qemuEAPlacedDevice *db = peers[b];
            size_t common = 0;

            while (common < da->nswitches && common < db->nswitches &&
                   virPCIDeviceAddressEqual(&da->switches[2 * common].addr,
                                            &db->switches[2 * common].addr))
                common++;

            if (common == 0)
                continue;

            if (da->nswitches == common && db->nswitches == common &&
                virPCIDeviceAddressEqual(&da->switches[2 * common - 1].addr,
                                         &db->switches[2 * common - 1].addr))
                continue;

            for (j = common - 1; j < da->nswitches; j++)
                qemuEAHostPortAdd(mirrored, &da->switches[2 * j].addr);
            for (j = common; j < db->nswitches; j++)
                qemuEAHostPortAdd(mirrored, &db->switches[2 * j].addr);
        }
    }
}


/* The port of a device of @below (@nbelow placed devices) that is another
 * function of the host slot of @addr, or NULL */
static virDomainControllerDef *
qemuEAFindSlotPort(const virDomainDef *def,
                   const qemuEAPlacedDevice *below,
                   size_t nbelow,
                   const virPCIDeviceAddress *addr)
{
    size_t i;

    for (i = 0; i < nbelow; i++) {
        const virPCIDeviceAddress *other = &below[i].hostdev->source.subsys.u.pci.addr;

        if (other->domain == addr->domain && other->bus == addr->bus &&
            other->slot == addr->slot)
            return qemuEAGetParent(def, below[i].hostdev->info);
    }

    return NULL;
}


/* A pcie-switch-upstream-port at slot 0 of a pcie-root-port of @pxb that
 * mirrors no host switch of @map and has no device below it, as
 * detaching every device of a mirrored switch leaves it, or NULL */
static virDomainControllerDef *
qemuEAFindEmptySwitch(const virDomainDef *def,
                      const virDomainControllerDef *pxb,
                      GArray *map)
{
    g_autofree virDomainControllerDef **byIdx = qemuEAIndexControllers(def);
    size_t i;
    size_t j;

    for (i = 0; i < def->ncontrollers; i++) {
        virDomainControllerDef *cont = def->controllers[i];
        const virDomainControllerDef *port = qemuEAGetParent(def, &cont->info);

        if (cont->type != VIR_DOMAIN_CONTROLLER_TYPE_PCI ||
            cont->model != VIR_DOMAIN_CONTROLLER_MODEL_PCIE_SWITCH_UPSTREAM_PORT ||
            !port || port->model != VIR_DOMAIN_CONTROLLER_MODEL_PCIE_ROOT_PORT ||
            qemuEAGetParent(def, &port->info) != pxb)
            continue;

        for (j = 0; j < map->len; j++) {
            if (g_array_index(map, qemuEASwitchMap, j).guest == cont)
                break;
        }
        if (j < map->len)
            continue;

        for (j = 0; j < def->nhostdevs; j++) {
            if (qemuEAIsAbove(byIdx, cont, def->hostdevs[j]->info))
                break;
        }
        if (j == def->nhostdevs)
            return cont;
    }

    return NULL;
}


/* Place device @i of the @ndevices devices @devices of one group below
 * @pxb, with the other functions of its host slot that have no address
 * yet: below the guest switch that mirrors the lowest host switch above
 * it, if there is one in @map, else below a new guest switch for the
 * topmost host switch above it in @mirrored, else in a pcie-root-port.
 * Below a guest switch, the device and the switches in @mirrored below
 * it get a downstream port each, at the slot of the host's downstream
 * port if that is free; guest switches added go into @map. A device
 * whose host slot has another function among the @nbelow devices
 * @below that are placed already joins that one's port. */
static int
qemuEAPlaceDevice(virDomainDef *def,
                  virDomainControllerDef *pxb,
                  qemuEAPlacedDevice *devices,
                  size_t ndevices,
                  size_t i,
                  const qemuEAPlacedDevice *below,
                  size_t nbelow,
                  GArray *map,
                  GArray *mirrored,
                  virBitmap *used)
{
    qemuEAPlacedDevice *dev = &devices[i];
    const virPCIDeviceAddress *addr = &dev->hostdev->source.subsys.u.pci.addr;
    virDomainControllerDef *upstream = NULL;
    virDomainControllerDef *port = qemuEAFindSlotPort(def, below, nbelow, addr);
    virDomainHostdevDef *first;
    unsigned int function = 0;
    size_t level = 0;
    size_t j;

    for (j = dev->nswitches; j > 0 && !upstream && !port; j--) {
        if ((upstream = qemuEASwitchMapFind(map, &dev->switches[2 * (j - 1)].addr)))
            level = j - 1;
    }

    if (!upstream) {
        for (j = 0; j < dev->nswitches; j++) {
            if (qemuEAHostPortIn(mirrored, &dev->switches[2 * j].addr))
                break;
        }

        if (j < dev->nswitches && !port) {
            if (!(upstream = qemuEAFindEmptySwitch(def, pxb, map))) {
                if (!(port = qemuEAGetPort(def, VIR_DOMAIN_CONTROLLER_MODEL_PCIE_ROOT_PORT,
                                           pxb, -1, dev->hostdev, used)))
                    return -1;
                upstream = qemuEAAddController(def, VIR_DOMAIN_CONTROLLER_MODEL_PCIE_SWITCH_UPSTREAM_PORT,
                                               port, 0, used);
            }
            qemuEASwitchMapAdd(map, &dev->switches[2 * j].addr, j, upstream);
            level = j;
        }
    }

    while (upstream) {
        const virPCIEABridge *downstream = &dev->switches[2 * level + 1];

        if (!(port = qemuEAGetPort(def, VIR_DOMAIN_CONTROLLER_MODEL_PCIE_SWITCH_DOWNSTREAM_PORT,
                                   upstream, downstream->addr.slot, dev->hostdev, used)))
            return -1;

        upstream = NULL;
        if (level + 1 < dev->nswitches &&
            qemuEAHostPortIn(mirrored, &dev->switches[2 * (level + 1)].addr)) {
            level++;
            upstream = qemuEAAddController(def, VIR_DOMAIN_CONTROLLER_MODEL_PCIE_SWITCH_UPSTREAM_PORT,
                                           port, 0, used);
            qemuEASwitchMapAdd(map, &dev->switches[2 * level].addr, level, upstream);
        }
    }

    if (!port &&
        !(port = qemuEAGetPort(def, VIR_DOMAIN_CONTROLLER_MODEL_PCIE_ROOT_PORT,
                               pxb, -1, dev->hostdev, used)))
        return -1;

    /* the devices are sorted by host address: the other functions of
     * the slot follow; each takes the lowest free function of the port */
    for (j = i; j < ndevices; j++) {
        virDomainHostdevDef *hostdev = devices[j].hostdev;
        const virPCIDeviceAddress *other = &hostdev->source.subsys.u.pci.addr;

        if (other->domain != addr->domain || other->bus != addr->bus ||
            other->slot != addr->slot)
            break;
        if (!virDeviceInfoPCIAddressIsWanted(hostdev->info))
            continue;

        while (function <= VIR_PCI_ADDRESS_FUNCTION_LAST &&
               qemuEAGetPortFunction(def, port->idx, function))
            function++;
        if (function > VIR_PCI_ADDRESS_FUNCTION_LAST)
            break;

        hostdev->info->type = VIR_DOMAIN_DEVICE_ADDRESS_TYPE_PCI;
        hostdev->info->addr.pci = (virPCIDeviceAddress) {
            .bus = port->idx, .function = function,
        };
    }

    /* a device that found no free function gets a port of its own */
    if (virDeviceInfoPCIAddressIsWanted(dev->hostdev->info))
        return qemuEAPlaceDevice(def, pxb, devices, ndevices, i, NULL, 0,
                                 map, mirrored, used);

    for (function = 1; function <= VIR_PCI_ADDRESS_FUNCTION_LAST; function++) {
        if (qemuEAGetPortFunction(def, port->idx, function))
            break;
    }
    if (function <= VIR_PCI_ADDRESS_FUNCTION_LAST &&
        (first = qemuEAGetPortFunction(def, port->idx, 0)))
        first->info->addr.pci.multi = VIR_TRISTATE_SWITCH_ON;
    if (port->idx < QEMU_EA_MAX_PCI_BUSES)
        ignore_value(virBitmapSetBit(used, port->idx));

    return 0;
}


/* Place the @ndevices devices @devices of one group, sorted by host
 * address, below @pxb, where the devices of @placed below @pxb are
 * already: mirror the host switches between any two of the group's
 * devices, except those that sit directly in a pcie-root-port of @pxb,
 * see qemuEAPlaceDevice(). */
static int
qemuEAPlaceGroup(virDomainDef *def,
                 virDomainControllerDef *pxb,
                 qemuEAPlacedDevice *devices,
                 size_t ndevices,
                 GArray *placed,
                 virBitmap *used)
{
    g_autoptr(GArray) map = g_array_new(FALSE, FALSE, sizeof(qemuEASwitchMap));
    g_autoptr(GArray) mirrored = g_array_new(FALSE, FALSE, sizeof(virPCIDeviceAddress));
    g_autofree virDomainControllerDef **byIdx = qemuEAIndexControllers(def);
    g_autofree qemuEAPlacedDevice *below = g_new0(qemuEAPlacedDevice, placed->len);
    g_autofree const qemuEAPlacedDevice **peers = NULL;
    size_t nbelow = 0;
    size_t npeers = 0;
    size_t i;
    int ret = -1;

    for (i = 0; i < placed->len; i++) {
        qemuEAPlacedGroup *group = &g_array_index(placed, qemuEAPlacedGroup, i);

        if (group->pxb != pxb)
            continue;

        below[nbelow].hostdev = group->hostdev;
        qemuEAGetHostSwitches(&group->hostdev->source.subsys.u.pci.addr,
                              &below[nbelow].switches, &below[nbelow].nswitches);
        nbelow++;
    }

    qemuEAMapGuestSwitches(def, byIdx, pxb, below, nbelow, map);

    peers = g_new0(const qemuEAPlacedDevice *, ndevices + nbelow);
    for (i = 0; i < ndevices; i++)
        peers[npeers++] = &devices[i];
    for (i = 0; i < nbelow; i++) {
        const virDomainControllerDef *parent = qemuEAGetParent(def, below[i].hostdev->info);

        if (parent && parent->model == VIR_DOMAIN_CONTROLLER_MODEL_PCIE_SWITCH_DOWNSTREAM_PORT)
            peers[npeers++] = &below[i];
    }
    qemuEAGetMirroredSwitches(peers, npeers, mirrored);

    for (i = 0; i < ndevices; i++) {
        if (virDeviceInfoPCIAddressIsWanted(devices[i].hostdev->info) &&
            qemuEAPlaceDevice(def, pxb, devices, ndevices, i, below, nbelow,
                              map, mirrored, used) < 0)
            goto cleanup;
    }

    ret = 0;

 cleanup:
    for (i = 0; i < nbelow; i++)
        g_free(below[i].switches);
    return ret;
}


static int
qemuEAMarkUsedBus(virDomainDef *def G_GNUC_UNUSED,
                  virDomainDeviceDef *dev G_GNUC_UNUSED,
                  virDomainDeviceInfo *info,
                  void *opaque)
{
    virBitmap *used = opaque;

    if (info->type == VIR_DOMAIN_DEVICE_ADDRESS_TYPE_PCI &&
        info->addr.pci.bus < QEMU_EA_MAX_PCI_BUSES)
        ignore_value(virBitmapSetBit(used, info->addr.pci.bus));

    return 0;
}


/* How many bus numbers the EA pxb of the group @key may come to need, so
 * that every device of the group can join it later: one for the pxb, one
 * for a pcie-root-port or downstream port for each PCI function of the
 * group on the host that is no bridge, and two for each host switch that
 * may be mirrored (its upstream port and the port above that), as far as
 * sysfs tells; 0 if not known. At most 64 besides the pxb's: that covers
 * a pcie-expander-bus full of root ports and a few switches, while the
 * functions of a host full of SR-IOV virtual functions, which are
 * rarely all assigned to one guest, would exhaust the 256 buses. */
static unsigned int
qemuEAGroupBusNumbers(const qemuEAGroupKey *key)
{
    size_t count = 1;
    size_t switches = 0;
    int rc = 0;

    switch (key->kind) {
    case QEMU_EA_GROUP_ROOT_BUS:
        rc = virPCIEACountRootBusEndpoints(key->domain, key->id, &count, &switches);
        break;
    case QEMU_EA_GROUP_IOMMU:
        rc = virPCIEACountIOMMUGroupEndpoints(key->id, &count, &switches);
        break;
    case QEMU_EA_GROUP_DEVICE:
        break;
    }

    if (rc < 0)
        return 0;

    return 1 + MIN(count + 2 * switches, 64);
}


/* The bus numbers a root bus of @def holds: @count from @start */
typedef struct _qemuEABusRange qemuEABusRange;
struct _qemuEABusRange {
    int start;
    unsigned int count;
};


static gint
qemuEABusRangeCompare(gconstpointer a,
                      gconstpointer b)
{
    const qemuEABusRange *ra = a;
    const qemuEABusRange *rb = b;

    return ra->start - rb->start;
}


/* The first of the highest @count consecutive bus numbers below
 * @maxBuses that no range of @ranges holds, or -1 */
static int
qemuEAFindFreeBusNumbers(GArray *ranges,
                         unsigned int count,
                         int maxBuses)
{
    int top = maxBuses - 1;
    size_t i;

    g_array_sort(ranges, qemuEABusRangeCompare);

    for (i = ranges->len; i > 0; i--) {
        const qemuEABusRange *range = &g_array_index(ranges, qemuEABusRange, i - 1);
        int end = range->start + (int)range->count - 1;

        if (top - end >= (int)count)
            return top - (int)count + 1;

        top = MIN(top, range->start - 1);
    }

    return top + 1 >= (int)count ? top - (int)count + 1 : -1;
}


/* The first entry of @placed below @pxb, or NULL */
static const qemuEAPlacedGroup *
qemuEAFindPxbGroup(GArray *placed,
                   const virDomainControllerDef *pxb)
{
    size_t i;

    for (i = 0; i < placed->len; i++) {
        const qemuEAPlacedGroup *group = &g_array_index(placed, qemuEAPlacedGroup, i);

        if (group->pxb == pxb)
            return group;
    }

    return NULL;
}


/* How many bus numbers EA pxb @pxb should hold: what its hierarchy
 * takes, or more if its group may grow, see qemuEAGroupBusNumbers() */
static unsigned int
qemuEAPxbBusNumbers(const virDomainDef *def,
                    const virDomainControllerDef *pxb,
                    GArray *placed)
{
    unsigned int count = qemuEACountBusNumbers(def, pxb);
    const qemuEAPlacedGroup *group = qemuEAFindPxbGroup(placed, pxb);

    if (group)
        return MAX(count, qemuEAGroupBusNumbers(&group->key));

    return count;
}


/* Give a busNr to every EA pxb that has none, and to every EA pxb in
 * @grown whose hierarchy no longer fits below the next root bus: the
 * highest free bus numbers that leave room for the devices that may
 * still join its group, else the highest that fit its hierarchy.  Bus
 * numbers held by other root buses stay free, and the room left for the
 * groups of other EA pxbs too unless nothing else fits.  @placed (the
 * fixedBar devices below EA pxbs with their group keys) is filled if NULL
 * and needed. */
static int
qemuEAAssignBusNumbers(virDomainDef *def,
                       GArray **placed,
                       virBitmap *grown)
{
    /* what each root bus holds, with and without room to grow */
    g_autoptr(GArray) ranges = g_array_new(FALSE, FALSE, sizeof(qemuEABusRange));
    g_autoptr(GArray) taken = g_array_new(FALSE, FALSE, sizeof(qemuEABusRange));
    g_autofree virDomainControllerDef **todo = g_new0(virDomainControllerDef *, def->ncontrollers);
    g_autoptr(virBitmap) eaPxbs = qemuEAGetEAPxbs(def);
    int maxBuses = qemuEAMaxBusNumbers(def);
    size_t ntodo = 0;
    size_t i;
    size_t j;

    for (i = 0; i < def->ncontrollers; i++) {
        virDomainControllerDef *cont = def->controllers[i];

        if (cont->type != VIR_DOMAIN_CONTROLLER_TYPE_PCI ||
            cont->idx < 0 || cont->idx >= QEMU_EA_MAX_PCI_BUSES ||
            !virBitmapIsBitSet(eaPxbs, cont->idx))
            continue;

        if (cont->opts.pciopts.busNr < 0) {
            todo[ntodo++] = cont;
        } else if (grown && virBitmapIsBitSet(grown, cont->idx)) {
            int next = maxBuses;

            for (j = 0; j < def->ncontrollers; j++) {
                const virDomainControllerDef *other = def->controllers[j];

                if (other->type == VIR_DOMAIN_CONTROLLER_TYPE_PCI &&
                    other->model == VIR_DOMAIN_CONTROLLER_MODEL_PCIE_EXPANDER_BUS &&
                    other->opts.pciopts.busNr > cont->opts.pciopts.busNr)
                    next = MIN(next, other->opts.pciopts.busNr);
            }

            if ((int)qemuEACountBusNumbers(def, cont) > next - cont->opts.pciopts.busNr)
                todo[ntodo++] = cont;
        }
    }

    if (ntodo == 0)
        return 0;

    if (!*placed)
        *placed = qemuEAGetPlacedGroups(def);

    for (i = 0; i < def->ncontrollers; i++) {
        virDomainControllerDef *cont = def->controllers[i];
        qemuEABusRange range = { 0 };

        if (cont->type != VIR_DOMAIN_CONTROLLER_TYPE_PCI)
            continue;

        if (cont->model == VIR_DOMAIN_CONTROLLER_MODEL_PCIE_ROOT) {
            range.count = qemuEACountBusNumbers(def, cont);
        } else if (cont->model == VIR_DOMAIN_CONTROLLER_MODEL_PCIE_EXPANDER_BUS &&
                   cont->opts.pciopts.busNr >= 0) {
            for (j = 0; j < ntodo && todo[j] != cont; j++)
                ;
            if (j < ntodo)
                continue;

            range.start = cont->opts.pciopts.busNr;
            range.count = qemuEACountBusNumbers(def, cont);
        } else {
            continue;
        }

        g_array_append_val(taken, range);
        if (cont->idx >= 0 && virBitmapIsBitSet(eaPxbs, cont->idx))
            range.count = qemuEAPxbBusNumbers(def, cont, *placed);
        g_array_append_val(ranges, range);
    }

    for (i = 0; i < ntodo; i++) {
        virDomainControllerDef *pxb = todo[i];
        qemuEABusRange range = { 0 };
        qemuEABusRange used = { 0 };
        unsigned int needed = qemuEACountBusNumbers(def, pxb);

        /* room to grow, for this group and the others, is a preference:
         * without it, the bus numbers that are really free */
        range.count = qemuEAPxbBusNumbers(def, pxb, *placed);
        if ((range.start = qemuEAFindFreeBusNumbers(ranges, range.count, maxBuses)) < 0) {
            range.count = needed;
            if ((range.start = qemuEAFindFreeBusNumbers(ranges, needed, maxBuses)) < 0)
                range.start = qemuEAFindFreeBusNumbers(taken, needed, maxBuses);
        }

        if (range.start < 0) {
            const qemuEAPlacedGroup *group = qemuEAFindPxbGroup(*placed, pxb);
            g_autofree char *hostAddr = NULL;

            /* an EA pxb holds a device with <fixedBar>, placed or not */
            if (group)
                hostAddr = virPCIDeviceAddressAsString(&group->hostdev->source.subsys.u.pci.addr);
            virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                           _("not enough PCI bus numbers for host device %1$s with <fixedBar>: its pcie-expander-bus with index %2$d needs %3$u consecutive bus numbers that no other root bus uses, but there are none; remove controllers or pcie-expander-buses"),
                           NULLSTR(hostAddr), pxb->idx, needed);
            return -1;
        }

        if (pxb->opts.pciopts.busNr >= 0)
            VIR_WARN("Moving pcie-expander-bus with index %d from busNr %d to %d: the %u bus numbers of its devices do not fit; the guest bus numbers below it change",
                     pxb->idx, pxb->opts.pciopts.busNr, range.start, needed);
        pxb->opts.pciopts.busNr = range.start;
        g_array_append_val(ranges, range);
        used.start = range.start;
        used.count = needed;
        g_array_append_val(taken, used);
    }

    return 0;
}


/* What <p2p clique='auto'/> groups a host device by */
typedef struct _qemuEACliqueDevice qemuEACliqueDevice;
struct _qemuEACliqueDevice {
    virDomainHostdevDef *hostdev;
    unsigned int domain;        /* its host root bus, else its own bus */
    unsigned int rootBus;
    int group;                  /* host IOMMU group, -1 if not known */
};


static int
qemuEACliqueDeviceCompare(const void *a,
                          const void *b,
                          void *opaque G_GNUC_UNUSED)
{
    const qemuEACliqueDevice *da = a;
    const qemuEACliqueDevice *db = b;
    const virPCIDeviceAddress *aa = &da->hostdev->source.subsys.u.pci.addr;
    const virPCIDeviceAddress *ab = &db->hostdev->source.subsys.u.pci.addr;
    unsigned int bdfA = (aa->bus << 8) | (aa->slot << 3) | aa->function;
    unsigned int bdfB = (ab->bus << 8) | (ab->slot << 3) | ab->function;

    if (da->domain != db->domain)
        return da->domain < db->domain ? -1 : 1;
    if (da->rootBus != db->rootBus)
        return da->rootBus < db->rootBus ? -1 : 1;
    if (da->group != db->group)
        return da->group < db->group ? -1 : 1;
    if (aa->domain != ab->domain)
        return aa->domain < ab->domain ? -1 : 1;
    if (bdfA != bdfB)
        return bdfA < bdfB ? -1 : 1;
    return 0;
}


/**
 * qemuEAAssignCliques:
 * @def: domain definition
 *
 * Resolve <p2p clique='auto'/> of the host devices with <fixedBar>, as
 * placement does, so that the definition says which clique each GPU is
 * in: a device takes the lowest clique of the devices of its host IOMMU
 * group that have one, else the lowest clique that no device of another
 * group has.
 * The devices are taken in the order of their host (domain, root bus,
 * IOMMU group), so that the groups of a new definition get cliques 0, 1,
 * and so on. The host is read best-effort: a device whose IOMMU group is
 * not known is a group of its own.
 *
 * Returns 0 on success, -1 on error (reported).
 */
static int
qemuEAAssignCliques(virDomainDef *def)
{
    g_autofree qemuEACliqueDevice *devices = NULL;
    size_t ndevices = 0;
    size_t i;
    size_t j;

    /* most definitions have none: leave the host alone */
    for (i = 0; i < def->nhostdevs; i++) {
        if (def->hostdevs[i]->p2p && def->hostdevs[i]->p2p->cliqueAuto &&
            def->hostdevs[i]->fixedBar)
            break;
    }
    if (i == def->nhostdevs)
        return 0;

    devices = g_new0(qemuEACliqueDevice, def->nhostdevs);
    for (i = 0; i < def->nhostdevs; i++) {
        virDomainHostdevDef *hostdev = def->hostdevs[i];
        qemuEACliqueDevice *dev = &devices[ndevices];
        virPCIDeviceAddress *addr = &hostdev->source.subsys.u.pci.addr;

        if (!hostdev->p2p ||
            hostdev->mode != VIR_DOMAIN_HOSTDEV_MODE_SUBSYS ||
            hostdev->source.subsys.type != VIR_DOMAIN_HOSTDEV_SUBSYS_TYPE_PCI)
            continue;

        dev->hostdev = hostdev;
        if (virPCIEAGetRootBus(addr, &dev->domain, &dev->rootBus) < 0) {
            dev->domain = addr->domain;
            dev->rootBus = addr->bus;
        }
        if ((dev->group = virPCIDeviceAddressGetIOMMUGroupNum(addr)) < 0) {
            virResetLastError();
            dev->group = -1;
        }
        ndevices++;
    }

    g_qsort_with_data(devices, ndevices, sizeof(*devices),
                      qemuEACliqueDeviceCompare, NULL);

    for (i = 0; i < ndevices; i++) {
        virDomainHostdevP2P *p2p = devices[i].hostdev->p2p;
        bool taken[VIR_DOMAIN_HOSTDEV_P2P_CLIQUE_MAX + 1] = { false };
        int clique = -1;

        if (!p2p->cliqueAuto || !devices[i].hostdev->fixedBar)
            continue;

        for (j = 0; j < ndevices; j++) {
            const virDomainHostdevP2P *other = devices[j].hostdev->p2p;

            if (j == i || other->cliqueAuto)
                continue;
            if (devices[i].group >= 0 && devices[j].group == devices[i].group) {
                if (clique < 0 || (int)other->clique < clique)
                    clique = other->clique;
            } else {
                taken[other->clique] = true;
            }
        }

        for (j = 0; clique < 0 && j <= VIR_DOMAIN_HOSTDEV_P2P_CLIQUE_MAX; j++) {
            if (!taken[j])
                clique = j;
        }

        if (clique < 0) {
            g_autofree char *hostAddr = NULL;

            hostAddr = virPCIDeviceAddressAsString(&devices[i].hostdev->source.subsys.u.pci.addr);
            virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                           _("cannot give host device %1$s a GPUDirect clique for <p2p clique='auto'/>: devices of other host IOMMU groups have all %2$d cliques; give the cliques with <p2p clique='N'/>"),
                           hostAddr, VIR_DOMAIN_HOSTDEV_P2P_CLIQUE_MAX + 1);
            return -1;
        }

        p2p->cliqueAuto = false;
        p2p->clique = clique;
    }

    return 0;
}


/**
 * qemuEAAssignPlacement:
 * @def: domain definition
 *
 * Place every host device with <fixedBar> that has no guest address yet
 * in a dedicated hierarchy: devices that share a host root complex (else
 * an IOMMU group) go below one pcie-expander-bus. A group joins the
 * pcie-expander-bus that already holds devices of it, if there is one,
 * otherwise a new one is added on pcie-root, bound to a guest NUMA cell
 * when qemuEAGetGuestCell() finds one. Below it, qemuEAPlaceGroup()
 * mirrors the host switches between devices of the group and gives every
 * other device a pcie-root-port of its own, the functions of one host
 * slot sharing a port. Then every pcie-root-port and switch downstream
 * port of such a hierarchy gets hotplug='off' unless the definition says
 * otherwise (which validation refuses), qemuEAAssignBusNumbers() gives a
 * busNr to every pcie-expander-bus of one that has none or has outgrown
 * its own, and qemuEAAssignCliques() resolves <p2p clique='auto'/>.
 *
 * Runs before the generic PCI address assignment, which places the new
 * pcie-expander-buses on pcie-root; qemuEAIsolatePCIBuses() keeps it from
 * putting anything into these hierarchies. Placed devices keep their
 * addresses, so a second run changes nothing.
 *
 * Returns 0 on success, -1 on error (reported).
 */
int
qemuEAAssignPlacement(virDomainDef *def)
{
    g_autofree qemuEAPlacedDevice *devices = NULL;
    g_autofree virDomainControllerDef **byIdx = NULL;
    g_autoptr(GArray) placed = NULL;
    g_autoptr(virBitmap) used = NULL;
    g_autoptr(virBitmap) grown = NULL;
    g_autoptr(virBitmap) eaPxbs = NULL;
    size_t ndevices = 0;
    size_t end;
    size_t i;
    int ret = -1;

    /* Anywhere else validation refuses <fixedBar> anyway */
    if (!qemuEAMachineIsSupported(def->os.machine, def->os.arch))
        return 0;

    devices = g_new0(qemuEAPlacedDevice, def->nhostdevs);

    for (i = 0; i < def->nhostdevs; i++) {
        virDomainHostdevDef *hostdev = def->hostdevs[i];

        if (!hostdev->fixedBar ||
            hostdev->source.subsys.type != VIR_DOMAIN_HOSTDEV_SUBSYS_TYPE_PCI ||
            !virDeviceInfoPCIAddressIsWanted(hostdev->info))
            continue;

        devices[ndevices].hostdev = hostdev;
        qemuEAGetGroupKey(hostdev, &devices[ndevices].key);
        if (virPCIEAGetNUMANode(&hostdev->source.subsys.u.pci.addr,
                                &devices[ndevices].numaNode) < 0) {
            virPCIDeviceAddress *addr = &hostdev->source.subsys.u.pci.addr;

            VIR_WARN("Cannot find the host NUMA node of PCI device %04x:%02x:%02x.%x: %s",
                     addr->domain, addr->bus, addr->slot, addr->function,
                     virGetLastErrorMessage());
            virResetLastError();
            devices[ndevices].numaNode = -1;
        }
        qemuEAGetHostSwitches(&hostdev->source.subsys.u.pci.addr,
                              &devices[ndevices].switches,
                              &devices[ndevices].nswitches);
        ndevices++;
    }

    g_qsort_with_data(devices, ndevices, sizeof(*devices),
                      qemuEAPlacedDeviceCompare, NULL);

    if (ndevices > 0) {
        used = virBitmapNew(QEMU_EA_MAX_PCI_BUSES);
        grown = virBitmapNew(QEMU_EA_MAX_PCI_BUSES);
        ignore_value(virDomainDeviceInfoIterate(def, qemuEAMarkUsedBus, used));
    }

    for (i = 0; i < ndevices; i = end) {
        qemuEAPlacedDevice *dev = &devices[i];
        virDomainControllerDef *pxb;
        size_t j;

        for (end = i + 1; end < ndevices &&
             qemuEAGroupKeyCompare(&dev->key, &devices[end].key) == 0; end++)
            ;

        /* the devices placed before are looked up once */
        if (!placed)
            placed = qemuEAGetPlacedGroups(def);
        if (!(pxb = qemuEAFindGroupPxb(placed, &dev->key))) {
            int numaNode = dev->numaNode;

            /* bind the pxb to a NUMA node only if the whole group is on it */
            for (j = i + 1; j < end; j++) {
                if (devices[j].numaNode != numaNode)
                    numaNode = -1;
            }

            pxb = virDomainDefAddController(def, VIR_DOMAIN_CONTROLLER_TYPE_PCI,
                                            qemuDomainGetMaxPCIControllerIndex(def) + 1,
                                            VIR_DOMAIN_CONTROLLER_MODEL_PCIE_EXPANDER_BUS);
            pxb->opts.pciopts.numaNode = qemuEAGetGuestCell(def, numaNode);
        }

        if (qemuEAPlaceGroup(def, pxb, devices + i, end - i, placed, used) < 0)
            goto cleanup;

        if (pxb->idx < QEMU_EA_MAX_PCI_BUSES)
            ignore_value(virBitmapSetBit(grown, pxb->idx));
        for (j = i; j < end; j++) {
            qemuEAPlacedGroup group = { pxb, devices[j].hostdev, devices[j].key };

            g_array_append_val(placed, group);
        }
    }

    byIdx = qemuEAIndexControllers(def);
    eaPxbs = qemuEAGetEAPxbs(def);
    for (i = 0; i < def->ncontrollers; i++) {
        virDomainControllerDef *cont = def->controllers[i];

        if (cont->model != VIR_DOMAIN_CONTROLLER_MODEL_PCIE_SWITCH_UPSTREAM_PORT &&
            qemuEAIsEABridgeOf(byIdx, cont, eaPxbs) &&
            cont->opts.pciopts.hotplug == VIR_TRISTATE_SWITCH_ABSENT)
            cont->opts.pciopts.hotplug = VIR_TRISTATE_SWITCH_OFF;
    }

    if (qemuEAAssignBusNumbers(def, &placed, grown) < 0 ||
        qemuEAAssignCliques(def) < 0)
        goto cleanup;

    ret = 0;

 cleanup:
    for (i = 0; i < ndevices; i++)
        g_free(devices[i].switches);
    return ret;
}


/**
 * qemuEAIsolatePCIBuses:
 * @def: domain definition
 * @addrs: PCI address set with the addresses of @def reserved
 *
 * Lock the buses of every EA pxb and of the pcie-root-ports and switch
 * ports below it into an isolation group of their own so that the generic
 * PCI address assignment never puts another device, or an auto-added
 * controller, there.
 */
void
qemuEAIsolatePCIBuses(const virDomainDef *def,
                      virDomainPCIAddressSet *addrs)
{
    g_autoptr(virBitmap) eaPxbs = qemuEAGetEAPxbs(def);
    g_autofree virDomainControllerDef **byIdx = NULL;
    size_t i;

    if (virBitmapIsAllClear(eaPxbs))
        return;

    byIdx = qemuEAIndexControllers(def);
    for (i = 0; i < def->ncontrollers; i++) {
        const virDomainControllerDef *cont = def->controllers[i];
        virDomainPCIAddressBus *bus;

        if (cont->type != VIR_DOMAIN_CONTROLLER_TYPE_PCI ||
            cont->idx < 0 || (size_t)cont->idx >= addrs->nbuses ||
            (!virBitmapIsBitSet(eaPxbs, cont->idx) &&
             !qemuEAIsEABridgeOf(byIdx, cont, eaPxbs)))
            continue;

        bus = &addrs->buses[cont->idx];
        bus->isolationGroup = QEMU_EA_ISOLATION_GROUP;
        bus->isolationGroupLocked = true;
    }
}


/**
 * qemuEAValidateP2P:
 * @hostdev: PCI host device with <p2p>
 * @def: domain definition
 *
 * QEMU gives an NVIDIA GPU the virtual capability with which the NVIDIA
 * driver in a guest approves peer-to-peer DMA between the GPUs of one
 * clique (vfio-pci's x-nv-gpudirect-clique, in every QEMU libvirt
 * supports). The driver reads it only when it sees a hypervisor. Which
 * device it is, is checked when the domain starts, see qemuEACheckP2P().
 *
 * Returns 0 on success, -1 on error (reported).
 */
int
qemuEAValidateP2P(const virDomainHostdevDef *hostdev,
                  const virDomainDef *def)
{
    const virDomainHostdevSubsysPCI *pcisrc = &hostdev->source.subsys.u.pci;
    g_autofree char *hostAddr = virPCIDeviceAddressAsString(&pcisrc->addr);

    /* placement resolves it for every device with <fixedBar>, and
     * virDomainHostdevDefValidateP2P() refuses it without */
    if (hostdev->p2p->cliqueAuto) {
        virReportError(VIR_ERR_INTERNAL_ERROR,
                       _("the GPUDirect clique of host device %1$s was not resolved"),
                       hostAddr);
        return -1;
    }

    if (pcisrc->driver.name != VIR_DEVICE_HOSTDEV_PCI_DRIVER_NAME_DEFAULT &&
        pcisrc->driver.name != VIR_DEVICE_HOSTDEV_PCI_DRIVER_NAME_VFIO) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("<p2p> on host device %1$s needs the VFIO backend, remove <driver name='%2$s'/>"),
                       hostAddr,
                       virDeviceHostdevPCIDriverNameTypeToString(pcisrc->driver.name));
        return -1;
    }

    if (def->features[VIR_DOMAIN_FEATURE_KVM] == VIR_TRISTATE_SWITCH_ON &&
        def->kvm_features &&
        def->kvm_features->features[VIR_DOMAIN_KVM_HIDDEN] == VIR_TRISTATE_SWITCH_ON) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("<p2p> on host device %1$s needs the hypervisor visible to the guest, the NVIDIA driver approves peer-to-peer DMA only in a virtual machine it recognises: remove <hidden state='on'/> from <kvm>"),
                       hostAddr);
        return -1;
    }

    if (def->cpu) {
        size_t i;

        for (i = 0; i < def->cpu->nfeatures; i++) {
            const virCPUFeatureDef *feature = &def->cpu->features[i];

            if (STREQ(feature->name, "hypervisor") &&
                (feature->policy == VIR_CPU_FEATURE_DISABLE ||
                 feature->policy == VIR_CPU_FEATURE_FORBID)) {
                virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                               _("<p2p> on host device %1$s needs the hypervisor visible to the guest, the NVIDIA driver approves peer-to-peer DMA only in a virtual machine it recognises: remove the CPU feature 'hypervisor' with policy '%2$s'"),
                               hostAddr,
                               feature->policy == VIR_CPU_FEATURE_DISABLE ? "disable" : "forbid");
                return -1;
            }
        }
    }

    return 0;
}


/* Vendor and class of the GPUs QEMU gives a GPUDirect clique */
#define QEMU_EA_PCI_VENDOR_NVIDIA 0x10de
#define QEMU_EA_PCI_CLASS_DISPLAY 0x03


/**
 * qemuEACheckP2P:
 * @def: domain definition
 *
 * QEMU gives the GPUDirect clique capability only to NVIDIA display
 * controllers, and refuses to start with it on any other device: check
 * each host device with <p2p> on the host first, to say what to change.
 * Runs when the domain starts, including domxml-to-native; a device
 * attached to a running domain is checked by qemuEAValidateHotplug().
 *
 * Returns 0 on success, -1 on error (reported).
 */
static int
qemuEACheckP2PHostdev(const virDomainHostdevDef *hostdev)
{
    const virPCIDeviceAddress *addr = &hostdev->source.subsys.u.pci.addr;
    g_autofree char *hostAddr = NULL;
    unsigned int vendor;
    unsigned int klass;

    if (virPCIEAGetIDs(addr, &vendor, &klass) < 0)
        return -1;

    hostAddr = virPCIDeviceAddressAsString(addr);
    if (vendor != QEMU_EA_PCI_VENDOR_NVIDIA) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("<p2p> on host device %1$s needs an NVIDIA GPU, but the device's vendor is 0x%2$04x: remove <p2p>"),
                       hostAddr, vendor);
        return -1;
    }

    if ((klass >> 16) != QEMU_EA_PCI_CLASS_DISPLAY) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("<p2p> on host device %1$s needs a display controller (PCI class 0x03), but the device's class is 0x%2$06x: remove <p2p>"),
                       hostAddr, klass);
        return -1;
    }

    return 0;
}


int
qemuEACheckP2P(const virDomainDef *def)
{
    size_t i;

    for (i = 0; i < def->nhostdevs; i++) {
        const virDomainHostdevDef *hostdev = def->hostdevs[i];

        if (hostdev->p2p &&
            hostdev->source.subsys.type == VIR_DOMAIN_HOSTDEV_SUBSYS_TYPE_PCI &&
            qemuEACheckP2PHostdev(hostdev) < 0)
            return -1;
    }

    return 0;
}


/**
 * qemuEAValidateHostdev:
 * @hostdev: PCI host device with <fixedBar>
 * @def: domain definition
 * @qemuCaps: capabilities of the QEMU binary
 *
 * Check the host-independent rules of <fixedBar> that concern the device
 * alone: the mode, the VFIO backend, the machine type, the QEMU
 * capabilities, the ROM BAR, ACPI and the absence of a guest IOMMU.
 * Where it sits is checked by qemuEAValidateDomain() once addresses are
 * assigned.
 *
 * Returns 0 on success, -1 on error (reported).
 */
int
qemuEAValidateHostdev(const virDomainHostdevDef *hostdev,
                      const virDomainDef *def,
                      virQEMUCaps *qemuCaps)
{
    const virDomainHostdevSubsysPCI *pcisrc = &hostdev->source.subsys.u.pci;
    g_autofree char *hostAddr = virPCIDeviceAddressAsString(&pcisrc->addr);
    size_t i;

    switch (hostdev->fixedBar->mode) {
    case VIR_DOMAIN_HOSTDEV_FIXED_BAR_MODE_HPA:
        break;
    case VIR_DOMAIN_HOSTDEV_FIXED_BAR_MODE_NONE:
    case VIR_DOMAIN_HOSTDEV_FIXED_BAR_MODE_LAST:
    default:
        virReportEnumRangeError(virDomainHostdevFixedBarMode,
                                hostdev->fixedBar->mode);
        return -1;
    }

    if (pcisrc->driver.name != VIR_DEVICE_HOSTDEV_PCI_DRIVER_NAME_DEFAULT &&
        pcisrc->driver.name != VIR_DEVICE_HOSTDEV_PCI_DRIVER_NAME_VFIO) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("<fixedBar> on host device %1$s needs the VFIO backend, remove <driver name='%2$s'/>"),
                       hostAddr,
                       virDeviceHostdevPCIDriverNameTypeToString(pcisrc->driver.name));
        return -1;
    }

    if (!qemuEAMachineIsSupported(def->os.machine, def->os.arch)) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("<fixedBar> on host device %1$s needs a q35 (x86_64) or virt (aarch64) machine, not '%2$s' (%3$s)"),
                       hostAddr, def->os.machine, virArchToString(def->os.arch));
        return -1;
    }

    if (!virQEMUCapsGet(qemuCaps, QEMU_CAPS_VFIO_PCI_EA)) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("<fixedBar> on host device %1$s is not supported by this QEMU binary: vfio-pci lacks the '%2$s' or '%3$s' property"),
                       hostAddr, qemuEANames[QEMU_EA_NAME_VFIO_EA],
                       qemuEANames[QEMU_EA_NAME_VFIO_BAR0_ADDR]);
        return -1;
    }

    for (i = 0; i < hostdev->fixedBar->nbars; i++) {
        const virDomainHostdevFixedBarAddress *bar = &hostdev->fixedBar->bars[i];

        /* an index out of range is the per-device validation's error */
        if (bar->size && bar->idx < VIR_PCI_EA_NUM_BARS &&
            !virQEMUCapsGet(qemuCaps, QEMU_CAPS_VFIO_PCI_EA_BAR_SIZE)) {
            virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                           _("<bar index='%1$u' size='...'> in <fixedBar> of host device %2$s is not supported by this QEMU binary: vfio-pci lacks the '%3$s' property"),
                           bar->idx, hostAddr,
                           qemuEANames[QEMU_EA_NAME_VFIO_BAR0_SIZE + bar->idx]);
            return -1;
        }
    }

    if (!virQEMUCapsGet(qemuCaps, QEMU_CAPS_MACHINE_FIXED_MMIO)) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("<fixedBar> on host device %1$s is not supported by this QEMU binary: machine type '%2$s' lacks the '%3$s' property"),
                       hostAddr, def->os.machine,
                       qemuEANames[QEMU_EA_NAME_MACHINE_FIXED_MMIO]);
        return -1;
    }

    if (hostdev->info->rombar == VIR_TRISTATE_SWITCH_ON) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("<fixedBar> on host device %1$s cannot place a ROM BAR, use <rom bar='off'/> or remove <rom>"),
                       hostAddr);
        return -1;
    }

    if (hostdev->info->romfile) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("<fixedBar> on host device %1$s cannot place a ROM BAR, remove the file attribute of <rom>"),
                       hostAddr);
        return -1;
    }

    /* The guest learns the fixed ranges from the _CRS of the expander
     * bus, an ACPI object */
    if (def->features[VIR_DOMAIN_FEATURE_ACPI] != VIR_TRISTATE_SWITCH_ON) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("<fixedBar> on host device %1$s needs ACPI, the guest finds the fixed BAR ranges in the ACPI tables: add <acpi/> to <features>"),
                       hostAddr);
        return -1;
    }

    /* Behind a guest IOMMU the guest driver programs the device with I/O
     * virtual addresses, so peer-to-peer DMA to a BAR's host physical
     * address, the point of GPA == HPA, cannot work */
    if (def->iommu) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("<fixedBar> on host device %1$s cannot be used with a guest IOMMU, the guest would program the device with I/O virtual addresses instead of host physical ones: remove the <iommu> device"),
                       hostAddr);
        return -1;
    }

    return 0;
}


void
qemuEALayoutFree(qemuEALayout *layout)
{
    size_t i;

    if (!layout)
        return;

    for (i = 0; i < layout->ndevices; i++) {
        g_free(layout->devices[i].bars);
        g_free(layout->devices[i].bridges);
    }
    g_free(layout->devices);
    g_free(layout);
}


void
qemuEAGuestMapFree(qemuEAGuestMap *map)
{
    size_t i;

    if (!map)
        return;

    for (i = 0; i < map->nranges; i++)
        g_free(map->ranges[i].name);
    g_free(map->ranges);
    g_free(map);
}


static void
qemuEAGuestMapAdd(qemuEAGuestMap *map,
                  unsigned long long start,
                  unsigned long long size,
                  char *name)
{
    qemuEAGuestRange range = { .name = name, .start = start,
                               .end = start + (size - 1) };

    VIR_APPEND_ELEMENT(map->ranges, map->nranges, range);
}


#define QEMU_EA_KiB 1024ULL
#define QEMU_EA_MiB (1024 * QEMU_EA_KiB)
#define QEMU_EA_GiB (1024 * QEMU_EA_MiB)

/* The AMD HyperTransport hole, see hw/i386/pc.c */
#define QEMU_EA_AMD_HT_START 0xfd00000000ULL
#define QEMU_EA_AMD_HT_END 0x10000000000ULL

/* The 64-bit PCI hole q35 places after RAM and hotplug memory by default */
#define QEMU_EA_Q35_PCI_HOLE64_SIZE (32 * QEMU_EA_GiB)

/* Address width of the aarch64 virt machine without LPA2 */
#define QEMU_EA_VIRT_PHYS_BITS 48


/* Whether the guest CPU is an AMD one. Under KVM, QEMU gives every CPU
 * model the host's vendor unless <model vendor_id> sets one; under TCG the
 * model's vendor counts, and QEMU's default model qemu64 and its max CPU
 * (<cpu mode='maximum'>) are AMD ones. */
static bool
qemuEAGuestCPUIsAMD(const virDomainDef *def,
                    const virCPUDef *hostCPU)
{
    const char *vendor = NULL;

    if (def->cpu && def->cpu->vendor_id)
        return STREQ(def->cpu->vendor_id, "AuthenticAMD");

    /* QEMU's max CPU has the host's vendor under KVM, AMD's under TCG */
    if (def->virtType != VIR_DOMAIN_VIRT_KVM &&
        def->cpu && def->cpu->mode == VIR_CPU_MODE_MAXIMUM)
        return true;

    if (def->virtType == VIR_DOMAIN_VIRT_KVM ||
        (def->cpu && def->cpu->mode != VIR_CPU_MODE_CUSTOM)) {
        vendor = hostCPU ? hostCPU->vendor : NULL;
    } else if (!def->cpu || !def->cpu->model ||
               STREQ(def->cpu->model, "qemu64")) {
        return true;
    } else {
        vendor = def->cpu->vendor;
        if (!vendor)
            vendor = virCPUGetVendorForModel(def->os.arch, def->cpu->model);
    }

    return STREQ_NULLABLE(vendor, "AMD");
}


/* Guest physical address bits on x86 and how they were found, see
 * target/i386/cpu.c: <maxphysaddr>, or the host's for -cpu host and max
 * (host-phys-bits), or QEMU's default of 40. @hostBits is what the host is
 * known to address. */
static unsigned int
qemuEAGuestPhysBitsX86(const virDomainDef *def,
                       unsigned int hostBits,
                       const char **origin)
{
    const virCPUMaxPhysAddrDef *addr = def->cpu ? def->cpu->addr : NULL;

    if (addr && addr->mode == VIR_CPU_MAX_PHYS_ADDR_MODE_EMULATE) {
        *origin = _("set by <maxphysaddr mode='emulate'>");
        return addr->bits;
    }

    if (addr && addr->mode == VIR_CPU_MAX_PHYS_ADDR_MODE_PASSTHROUGH) {
        if (addr->limit > 0 && addr->limit < hostBits) {
            *origin = _("the limit of <maxphysaddr mode='passthrough'>");
            return addr->limit;
        }
        *origin = _("at least what the host devices need");
        return hostBits;
    }

    if (def->cpu &&
        (def->cpu->mode == VIR_CPU_MODE_HOST_PASSTHROUGH ||
         def->cpu->mode == VIR_CPU_MODE_MAXIMUM)) {
        *origin = _("at least what the host devices need");
        return hostBits;
    }

    *origin = _("QEMU's default for this CPU");
    return 40;
}


/* The start and size of the memory hotplug area after guest RAM ending at
 * @ramEnd, see pc_get_device_memory_range() and virt_set_memmap(); the
 * size is 0 without <maxMemory> */
static unsigned long long
qemuEAGuestHotplugArea(const virDomainDef *def,
                       unsigned long long ramEnd,
                       unsigned long long *size)
{
    unsigned long long memory = virDomainDefGetMemoryInitial(def) * QEMU_EA_KiB;
    unsigned long long maxMemory = def->mem.max_memory * QEMU_EA_KiB;

    *size = 0;
    if (maxMemory > memory)
        *size = maxMemory - memory + def->mem.memory_slots * QEMU_EA_GiB;

    return VIR_ROUND_UP(ramEnd, QEMU_EA_GiB);
}


/* Add the memory hotplug area after guest RAM ending at @ramEnd, if there
 * is one; returns where it, or RAM, ends */
static unsigned long long
qemuEAGuestMapAddHotplug(qemuEAGuestMap *map,
                         const virDomainDef *def,
                         unsigned long long ramEnd)
{
    unsigned long long size;
    unsigned long long start = qemuEAGuestHotplugArea(def, ramEnd, &size);

    if (size == 0)
        return ramEnd;

    qemuEAGuestMapAdd(map, start, size,
                      g_strdup(_("the guest's memory hotplug area")));
    return start + size;
}


/* Size of q35's 64-bit PCI hole: <pcihole64> of pcie-root, else QEMU's
 * default */
static unsigned long long
qemuEAGuestPCIHole64Size(const virDomainDef *def)
{
    size_t i;

    for (i = 0; i < def->ncontrollers; i++) {
        const virDomainControllerDef *cont = def->controllers[i];

        if (cont->type == VIR_DOMAIN_CONTROLLER_TYPE_PCI &&
            cont->model == VIR_DOMAIN_CONTROLLER_MODEL_PCIE_ROOT &&
            cont->opts.pciopts.pcihole64)
            return cont->opts.pciopts.pcihole64size * QEMU_EA_KiB;
    }

    return QEMU_EA_Q35_PCI_HOLE64_SIZE;
}


static void
qemuEAGuestMapFillQ35(qemuEAGuestMap *map,
                      const virDomainDef *def,
                      const virCPUDef *hostCPU,
                      unsigned int hostBits)
{
    unsigned long long memory = virDomainDefGetMemoryInitial(def) * QEMU_EA_KiB;
    unsigned long long lowmem = memory >= 0xb0000000ULL ? 0x80000000ULL : 0xb0000000ULL;
    unsigned long long below4g = MIN(memory, lowmem);
    unsigned long long above4g = memory - below4g;
    unsigned long long highStart = 4 * QEMU_EA_GiB;
    bool amd = qemuEAGuestCPUIsAMD(def, hostCPU);
    const char *origin = NULL;

    qemuEAGuestMapAdd(map, 0, below4g, g_strdup(_("guest RAM below 4 GiB")));
    qemuEAGuestMapAdd(map, 0xb0000000ULL, 256 * QEMU_EA_MiB,
                      g_strdup(_("the PCIe MMCONFIG area of QEMU and SeaBIOS")));
    qemuEAGuestMapAdd(map, 0xe0000000ULL, 256 * QEMU_EA_MiB,
                      g_strdup(_("the PCIe MMCONFIG area of OVMF")));
    qemuEAGuestMapAdd(map, 0xfec00000ULL, 4 * QEMU_EA_GiB - 0xfec00000ULL,
                      g_strdup(_("the chipset, interrupt controllers and firmware flash below 4 GiB")));

    /* QEMU moves RAM above 4 GiB to 1 TiB for AMD guest CPUs when RAM,
     * hotplug memory and the 64-bit PCI hole would reach the HT hole */
    if (amd) {
        unsigned long long usedEnd = highStart + above4g;
        unsigned long long hotplugSize;
        unsigned long long hotplugStart = qemuEAGuestHotplugArea(def, usedEnd,
                                                                 &hotplugSize);

        qemuEAGuestMapAdd(map, QEMU_EA_AMD_HT_START,
                          QEMU_EA_AMD_HT_END - QEMU_EA_AMD_HT_START,
                          g_strdup(_("the AMD HyperTransport hole")));

        if (hotplugSize > 0)
            usedEnd = hotplugStart + hotplugSize;

        /* pc_max_used_gpa(): the 64-bit hole starts at a GiB boundary */
        if (VIR_ROUND_UP(usedEnd, QEMU_EA_GiB) + qemuEAGuestPCIHole64Size(def) >
            QEMU_EA_AMD_HT_START)
            highStart = QEMU_EA_AMD_HT_END;
    }

    if (above4g > 0)
        qemuEAGuestMapAdd(map, highStart, above4g,
                          g_strdup(_("guest RAM above 4 GiB")));
    qemuEAGuestMapAddHotplug(map, def, highStart + above4g);

    map->physBits = qemuEAGuestPhysBitsX86(def, hostBits, &origin);
    map->physBitsOrigin = origin;
    map->physBitsRemedy = _("use <maxphysaddr mode='passthrough'/> or enough bits in <cpu>");
}


static void
qemuEAGuestMapFillVirt(qemuEAGuestMap *map,
                       const virDomainDef *def)
{
    unsigned long long memory = virDomainDefGetMemoryInitial(def) * QEMU_EA_KiB;
    unsigned long long base;
    /* The high regions of hw/arm/virt.c in their order, each aligned to
     * its size */
    struct {
        unsigned long long size;
        const char *name;
    } high[] = {
        { 64 * QEMU_EA_MiB, N_("the high GIC redistributor region") },
        { 256 * QEMU_EA_MiB, N_("the high PCIe ECAM region") },
        { 512 * QEMU_EA_GiB, N_("the high PCIe MMIO window") },
    };
    unsigned long long hotplugSize;
    size_t i;

    qemuEAGuestMapAdd(map, 0, QEMU_EA_GiB,
                      g_strdup(_("the platform devices and PCI windows below 1 GiB")));
    qemuEAGuestMapAdd(map, QEMU_EA_GiB, memory, g_strdup(_("guest RAM")));
    qemuEAGuestMapAddHotplug(map, def, QEMU_EA_GiB + memory);

    /* virt_set_memmap(): the high regions follow the hotplug area, both
     * rounded up to 1 GiB, and start at 256 GiB at the lowest */
    base = qemuEAGuestHotplugArea(def, QEMU_EA_GiB + memory, &hotplugSize) +
           VIR_ROUND_UP(hotplugSize, QEMU_EA_GiB);
    base = MAX(base, 256 * QEMU_EA_GiB);

    for (i = 0; i < G_N_ELEMENTS(high); i++) {
        base = VIR_ROUND_UP(base, high[i].size);
        qemuEAGuestMapAdd(map, base, high[i].size, g_strdup(_(high[i].name)));
        base += high[i].size;
    }

    map->physBits = QEMU_EA_VIRT_PHYS_BITS;
    map->physBitsOrigin = _("the limit of the virt machine");
    map->physBitsRemedy = _("give the BAR a lower address with <bar>");
}


/**
 * qemuEAGuestMapNew:
 * @def: domain definition (q35 on x86_64 or virt on aarch64)
 * @hostCPU: the host CPU, for the vendor of host-model and host-passthrough
 *           guest CPUs; may be NULL
 * @hostBits: physical address bits the host is known to have
 *
 * Describe where the guest physical address space of @def has no room for
 * fixed BARs: its RAM, memory hotplug area and the fixed regions of the
 * machine type, and the guest physical address width.
 *
 * Returns the map; free it with qemuEAGuestMapFree().
 */
qemuEAGuestMap *
qemuEAGuestMapNew(const virDomainDef *def,
                  const virCPUDef *hostCPU,
                  unsigned int hostBits)
{
    qemuEAGuestMap *map = g_new0(qemuEAGuestMap, 1);

    if (def->os.arch == VIR_ARCH_AARCH64)
        qemuEAGuestMapFillVirt(map, def);
    else
        qemuEAGuestMapFillQ35(map, def, hostCPU, hostBits);

    return map;
}


static const virPCIEABAR *
qemuEAFindBAR(const virPCIEABAR *bars,
              size_t nbars,
              unsigned int idx)
{
    size_t i;

    for (i = 0; i < nbars; i++) {
        if (bars[i].idx == idx)
            return &bars[i];
    }

    return NULL;
}


static int
qemuEAHostBARCompare(const void *a,
                     const void *b,
                     void *opaque G_GNUC_UNUSED)
{
    const virPCIEABAR *ba = a;
    const virPCIEABAR *bb = b;

    return (int)ba->idx - (int)bb->idx;
}


/* Check every <bar> of @fixedBar against the BARs the host shows,
 * @bars (@nbars of them, in index order), and apply the sizes they give:
 * a <bar size> names a BAR whose size the host's sysfs does not tell, as
 * one a VFIO variant driver emulates (nvgrace-gpu-vfio-pci presents the
 * coherent memory of a Grace GPU as BAR 4, and on Grace Hopper replaces
 * BAR 2). It replaces the size of a BAR the host has, which then has no
 * host address, and adds a 64-bit prefetchable memory BAR, the kind such
 * a driver emulates, where the host has none. QEMU checks the size when
 * the device starts (x-ea-barN-size). */
static int
qemuEAApplyBARSizes(const virDomainHostdevFixedBar *fixedBar,
                    const char *hostAddr,
                    virPCIEABAR **bars,
                    size_t *nbars)
{
    size_t i;

    for (i = 0; i < fixedBar->nbars; i++) {
        const virDomainHostdevFixedBarAddress *override = &fixedBar->bars[i];
        virPCIEABAR *bar = NULL;
        const virPCIEABAR *lower = NULL;
        virPCIEABAR added = { 0 };
        size_t j;

        for (j = 0; j < *nbars; j++) {
            if ((*bars)[j].idx == override->idx)
                bar = &(*bars)[j];
        }

        if (bar && bar->io) {
            virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                           _("<bar index='%1$u'> in <fixedBar> of host device %2$s names an I/O BAR, which the guest does not get, remove it"),
                           override->idx, hostAddr);
            return -1;
        }

        if (bar) {
            if (override->size) {
                bar->size = override->size;
                bar->start = bar->busStart = 0;
            }
            continue;
        }

        if (override->size == 0) {
            virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                           _("<bar index='%1$u'> in <fixedBar> of host device %2$s does not name a memory BAR the host shows; give its size with size='...' if the host driver emulates it (nvgrace-gpu-vfio-pci emulates BAR 4 of a Grace GPU), else remove it"),
                           override->idx, hostAddr);
            return -1;
        }

        if (override->idx > 0)
            lower = qemuEAFindBAR(*bars, *nbars, override->idx - 1);
        if (lower && !lower->io && lower->mem64) {
            virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                           _("<bar index='%1$u' size='...'> in <fixedBar> of host device %2$s names the upper half of 64-bit BAR %3$u, give the index of a BAR"),
                           override->idx, hostAddr, lower->idx);
            return -1;
        }
        if (override->idx + 1 >= VIR_PCI_EA_NUM_BARS ||
            qemuEAFindBAR(*bars, *nbars, override->idx + 1)) {
            virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                           _("<bar index='%1$u' size='...'> in <fixedBar> of host device %2$s adds a 64-bit BAR, whose upper half would be BAR %3$u, which the host uses or which does not exist; give the index of a BAR"),
                           override->idx, hostAddr, override->idx + 1);
            return -1;
        }

        added.idx = override->idx;
        added.size = override->size;
        added.prefetchable = true;
        added.mem64 = true;
        VIR_APPEND_ELEMENT(*bars, *nbars, added);
        g_qsort_with_data(*bars, *nbars, sizeof(**bars), qemuEAHostBARCompare, NULL);
    }

    return 0;
}


/* Number of address bits needed to reach the last byte of the @size bytes
 * at @start */
static unsigned int
qemuEAAddressBits(unsigned long long start,
                  unsigned long long size)
{
    unsigned long long end = start + (size - 1);
    unsigned int bits = 0;

    while (bits < 64 && (end >> bits) != 0)
        bits++;

    return bits;
}


/* Read the host BARs of @hostdev and place its memory BARs, applying the
 * <bar> overrides (H1). */
static int
qemuEAPrepareDevice(const virDomainHostdevDef *hostdev,
                    qemuEADevice *dev)
{
    const virDomainHostdevFixedBar *fixedBar = hostdev->fixedBar;
    const virPCIDeviceAddress *addr = &hostdev->source.subsys.u.pci.addr;
    g_autofree char *hostAddr = virPCIDeviceAddressAsString(addr);
    g_autofree virPCIEABAR *hostBARs = NULL;
    g_autofree char *sysfsPath = NULL;
    size_t nhostBARs = 0;
    bool isVF;
    size_t i;

    dev->hostAddr = *addr;
    dev->port = -1;
    if (hostdev->info->type == VIR_DOMAIN_DEVICE_ADDRESS_TYPE_PCI)
        dev->port = hostdev->info->addr.pci.bus;

    if (virPCIEAGetBARs(addr, &hostBARs, &nhostBARs) < 0)
        return -1;

    /* The BAR registers of an SR-IOV virtual function read as zero */
    if (virPCIDeviceAddressGetSysfsFile(&dev->hostAddr, &sysfsPath) < 0)
        return -1;
    isVF = virPCIIsVirtualFunction(sysfsPath) == 1;

    if (qemuEAApplyBARSizes(fixedBar, hostAddr, &hostBARs, &nhostBARs) < 0)
        return -1;

    dev->bars = g_new0(qemuEABAR, nhostBARs);

    for (i = 0; i < nhostBARs; i++) {
        const virPCIEABAR *hostBAR = &hostBARs[i];
        qemuEABAR *bar = &dev->bars[dev->nbars];
        size_t j;

        /* An x-ea device describes its memory BARs by EA and hides every
         * BAR register, so its I/O BARs are not available in the guest */
        if (hostBAR->io) {
            VIR_DEBUG("I/O BAR %u of host device %s is not available in the guest",
                      hostBAR->idx, hostAddr);
            continue;
        }

        /* Peers address the BAR by its bus address, the one in the BAR
         * register; it differs from the CPU address in sysfs behind a host
         * bridge that translates addresses */
        if (!isVF && hostBAR->start != 0 && hostBAR->busStart != hostBAR->start) {
            virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                           _("BAR %1$u of host device %2$s is at 0x%3$llx for the CPU but at bus address 0x%4$llx for PCI peers, the host bridge translates addresses; <fixedBar> cannot give the guest the address peers use, remove it"),
                           hostBAR->idx, hostAddr, hostBAR->start, hostBAR->busStart);
            return -1;
        }

        bar->idx = hostBAR->idx;
        bar->hostStart = hostBAR->start;
        bar->guestStart = hostBAR->start;
        bar->size = hostBAR->size;
        bar->prefetchable = hostBAR->prefetchable;
        bar->mem64 = hostBAR->mem64;

        for (j = 0; j < fixedBar->nbars; j++) {
            if (fixedBar->bars[j].idx == bar->idx) {
                bar->guestStart = fixedBar->bars[j].address;
                bar->sizeGiven = fixedBar->bars[j].size != 0;
            }
        }

        if (bar->guestStart == 0) {
            virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                           _("BAR %1$u of host device %2$s has no host physical address, give its guest address with <bar index='%1$u' address='...'/> in <fixedBar>"),
                           bar->idx, hostAddr);
            return -1;
        }

        if (bar->guestStart + (bar->size - 1) < bar->guestStart) {
            virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                           _("BAR %1$u of host device %2$s at 0x%3$llx does not fit its size 0x%4$llx below 2^64"),
                           bar->idx, hostAddr, bar->guestStart, bar->size);
            return -1;
        }

        dev->nbars++;
    }

    if (dev->nbars == 0) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("host device %1$s has no memory BAR to place, remove <fixedBar>"),
                       hostAddr);
        return -1;
    }

    return 0;
}


/* H3 for one BAR: aligned, within the guest's reach and clear of
 * everything else in the guest address map */
static int
qemuEACheckBAR(const qemuEAGuestMap *map,
               const char *hostAddr,
               const qemuEABAR *bar)
{
    unsigned long long end = bar->guestStart + (bar->size - 1);
    size_t i;

    if (bar->guestStart % bar->size != 0) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("BAR %1$u of host device %2$s at 0x%3$llx is not aligned to its size 0x%4$llx, give it an aligned address with <bar index='%1$u' address='...'/>"),
                       bar->idx, hostAddr, bar->guestStart, bar->size);
        return -1;
    }

    if (!bar->mem64 && end > 0xffffffffULL) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("BAR %1$u of host device %2$s is a 32-bit BAR and cannot be placed at 0x%3$llx-0x%4$llx above 4 GiB, give it an address below 4 GiB with <bar index='%1$u' address='...'/>"),
                       bar->idx, hostAddr, bar->guestStart, end);
        return -1;
    }

    if (qemuEAAddressBits(bar->guestStart, bar->size) > map->physBits) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("BAR %1$u of host device %2$s at 0x%3$llx-0x%4$llx is beyond the guest physical address width of %5$u bits (%6$s), %7$s"),
                       bar->idx, hostAddr, bar->guestStart, end,
                       map->physBits, map->physBitsOrigin, map->physBitsRemedy);
        return -1;
    }

    for (i = 0; i < map->nranges; i++) {
        const qemuEAGuestRange *range = &map->ranges[i];

        if (bar->guestStart > range->end || end < range->start)
            continue;

        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("BAR %1$u of host device %2$s at 0x%3$llx-0x%4$llx overlaps %5$s at 0x%6$llx-0x%7$llx in the guest, change the guest's memory or CPU configuration or give the BAR another address with <bar index='%1$u' address='...'/>"),
                       bar->idx, hostAddr, bar->guestStart, end,
                       range->name, range->start, range->end);
        return -1;
    }

    return 0;
}


typedef struct _qemuEAPlacedBAR qemuEAPlacedBAR;
struct _qemuEAPlacedBAR {
    const qemuEADevice *dev;
    const qemuEABAR *bar;
};


static int
qemuEAPlacedBARCompare(const void *a,
                       const void *b,
                       void *opaque G_GNUC_UNUSED)
{
    const qemuEAPlacedBAR *pa = a;
    const qemuEAPlacedBAR *pb = b;

    if (pa->bar->guestStart < pb->bar->guestStart)
        return -1;
    if (pa->bar->guestStart > pb->bar->guestStart)
        return 1;
    return 0;
}


/* H3 across all BARs: no two overlap in the guest */
static int
qemuEACheckOverlaps(const qemuEALayout *layout)
{
    g_autoptr(GArray) placed = g_array_new(FALSE, FALSE, sizeof(qemuEAPlacedBAR));
    size_t i;
    size_t j;

    for (i = 0; i < layout->ndevices; i++) {
        for (j = 0; j < layout->devices[i].nbars; j++) {
            qemuEAPlacedBAR p = { &layout->devices[i], &layout->devices[i].bars[j] };

            g_array_append_val(placed, p);
        }
    }

    g_array_sort_with_data(placed, qemuEAPlacedBARCompare, NULL);

    for (i = 1; i < placed->len; i++) {
        const qemuEAPlacedBAR *prev = &g_array_index(placed, qemuEAPlacedBAR, i - 1);
        const qemuEAPlacedBAR *cur = &g_array_index(placed, qemuEAPlacedBAR, i);
        unsigned long long prevEnd = prev->bar->guestStart + (prev->bar->size - 1);
        g_autofree char *prevAddr = NULL;
        g_autofree char *curAddr = NULL;

        if (cur->bar->guestStart > prevEnd)
            continue;

        prevAddr = virPCIDeviceAddressAsString(&prev->dev->hostAddr);
        curAddr = virPCIDeviceAddressAsString(&cur->dev->hostAddr);
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("BAR %1$u of host device %2$s at 0x%3$llx-0x%4$llx overlaps BAR %5$u of host device %6$s at 0x%7$llx-0x%8$llx in the guest, give one of them another address with <bar>"),
                       cur->bar->idx, curAddr, cur->bar->guestStart,
                       cur->bar->guestStart + (cur->bar->size - 1),
                       prev->bar->idx, prevAddr, prev->bar->guestStart, prevEnd);
        return -1;
    }

    return 0;
}


/* The guest's bridge windows. The pcie-root-port above fixedBar devices
 * forwards their BARs through two windows, which the guest sets to span
 * the BARs routed through each, gaps included, in units of 1 MiB: the
 * 32-bit non-prefetchable window forwards the non-prefetchable BARs below
 * 4 GiB, the prefetchable window every other BAR (the prefetchable ones,
 * and 64-bit non-prefetchable ones above 4 GiB, which PCI Express permits
 * there). QEMU's expander buses describe these windows to the guest, so
 * it is they that have to fit the guest memory map and stay free
 * (x-fixed-mmio). Behind a PCIe switch, the windows of the root port and
 * of the upstream port span those of its downstream ports; two windows
 * overlap only where one bridge is above the other. */
#define QEMU_EA_WINDOW_ALIGN (1024ULL * 1024ULL)

typedef struct _qemuEAWindow qemuEAWindow;
struct _qemuEAWindow {
    int bridge;                     /* see qemuEADeviceBridges() */
    bool prefetchable;
    unsigned long long start;
    unsigned long long end;         /* inclusive */
};


/* The guest bridges whose windows forward the BARs of device @i of
 * @layout, the nearest first, @nbridges of them: its pcie-root-port and
 * the ports of the switches between, else its port alone, else a bridge
 * of its own that is no controller (-1 - @i) if that is unknown; @own
 * holds the one of the last two. */
static const int *
qemuEADeviceBridges(const qemuEALayout *layout,
                    size_t i,
                    int *own,
                    size_t *nbridges)
{
    const qemuEADevice *dev = &layout->devices[i];

    if (dev->nbridges > 0) {
        *nbridges = dev->nbridges;
        return dev->bridges;
    }

    *own = dev->port >= 0 ? dev->port : -1 - (int)i;
    *nbridges = 1;
    return own;
}


/* Whether device @i of @layout is below @bridge */
static bool
qemuEADeviceIsBelow(const qemuEALayout *layout,
                    size_t i,
                    int bridge)
{
    int own;
    size_t nbridges;
    const int *bridges = qemuEADeviceBridges(layout, i, &own, &nbridges);
    size_t j;

    for (j = 0; j < nbridges; j++) {
        if (bridges[j] == bridge)
            return true;
    }

    return false;
}


/* Whether guest bridge @upper is above guest bridge @lower in @layout:
 * some device has both above it, @lower nearer */
static bool
qemuEABridgeIsAbove(const qemuEALayout *layout,
                    int upper,
                    int lower)
{
    size_t i;
    size_t j;

    for (i = 0; i < layout->ndevices; i++) {
        int own;
        size_t nbridges;
        const int *bridges = qemuEADeviceBridges(layout, i, &own, &nbridges);
        bool seenLower = false;

        for (j = 0; j < nbridges; j++) {
            if (bridges[j] == lower)
                seenLower = true;
            else if (bridges[j] == upper && seenLower)
                return true;
        }
    }

    return false;
}


static bool
qemuEABARInPrefetchWindow(const qemuEABAR *bar)
{
    return bar->prefetchable ||
           (bar->mem64 && bar->guestStart + (bar->size - 1) > 0xffffffffULL);
}


static gint
qemuEAWindowCompare(gconstpointer a,
                    gconstpointer b)
{
    const qemuEAWindow *wa = a;
    const qemuEAWindow *wb = b;

    if (wa->start < wb->start)
        return -1;
    if (wa->start > wb->start)
        return 1;
    return 0;
}


/* The bridge windows the guest needs for the BARs of @layout, by address */
static GArray *
qemuEALayoutGetWindows(const qemuEALayout *layout)
{
    GArray *windows = g_array_new(FALSE, FALSE, sizeof(qemuEAWindow));
    size_t i;
    size_t j;
    size_t k;
    size_t b;

    for (i = 0; i < layout->ndevices; i++) {
        const qemuEADevice *dev = &layout->devices[i];
        int own;
        size_t nbridges;
        const int *bridges = qemuEADeviceBridges(layout, i, &own, &nbridges);

        for (j = 0; j < dev->nbars; j++) {
            const qemuEABAR *bar = &dev->bars[j];

            for (b = 0; b < nbridges; b++) {
                qemuEAWindow win = { bridges[b], qemuEABARInPrefetchWindow(bar),
                                     bar->guestStart,
                                     bar->guestStart + (bar->size - 1) };

                for (k = 0; k < windows->len; k++) {
                    qemuEAWindow *w = &g_array_index(windows, qemuEAWindow, k);

                    if (w->bridge == win.bridge && w->prefetchable == win.prefetchable) {
                        w->start = MIN(w->start, win.start);
                        w->end = MAX(w->end, win.end);
                        break;
                    }
                }
                if (k == windows->len)
                    g_array_append_val(windows, win);
            }
        }
    }

    for (k = 0; k < windows->len; k++) {
        qemuEAWindow *w = &g_array_index(windows, qemuEAWindow, k);

        w->start &= ~(QEMU_EA_WINDOW_ALIGN - 1);
        w->end |= QEMU_EA_WINDOW_ALIGN - 1;
    }

    g_array_sort(windows, qemuEAWindowCompare);
    return windows;
}


/* What @win forwards, for error messages: "BARs 0, 2 of host device X" */
static char *
qemuEAWindowDescribe(const qemuEALayout *layout,
                     const qemuEAWindow *win)
{
    g_auto(virBuffer) buf = VIR_BUFFER_INITIALIZER;
    size_t i;
    size_t j;

    for (i = 0; i < layout->ndevices; i++) {
        const qemuEADevice *dev = &layout->devices[i];
        g_autofree char *hostAddr = NULL;
        g_auto(virBuffer) bars = VIR_BUFFER_INITIALIZER;
        size_t nbars = 0;

        if (!qemuEADeviceIsBelow(layout, i, win->bridge))
            continue;

        for (j = 0; j < dev->nbars; j++) {
            if (qemuEABARInPrefetchWindow(&dev->bars[j]) == win->prefetchable) {
                virBufferAsprintf(&bars, "%u, ", dev->bars[j].idx);
                nbars++;
            }
        }
        if (nbars == 0)
            continue;
        virBufferTrim(&bars, ", ");

        hostAddr = virPCIDeviceAddressAsString(&dev->hostAddr);
        virBufferAsprintf(&buf, "%s %s of host device %s, ",
                          nbars == 1 ? "BAR" : "BARs",
                          virBufferCurrentContent(&bars), hostAddr);
    }
    virBufferTrim(&buf, ", ");

    return virBufferContentAndReset(&buf);
}


/* H3 for the bridge windows, after qemuEACheckBAR() passed for every BAR:
 * no prefetchable window mixes BARs below and above 4 GiB, no window
 * overlaps what the guest has elsewhere, and two windows overlap only if
 * one bridge is above the other. A window ends at most at the end of the
 * 1 MiB its highest BAR ends in, which needs no more address bits than
 * that BAR. */
static int
qemuEACheckWindows(const qemuEAGuestMap *map,
                   const qemuEALayout *layout)
{
    g_autoptr(GArray) windows = qemuEALayoutGetWindows(layout);
    size_t i;
    size_t j;

    for (i = 0; i < windows->len; i++) {
        const qemuEAWindow *win = &g_array_index(windows, qemuEAWindow, i);
        g_autofree char *what = NULL;

        /* W2: a window below 4 GiB is a 32-bit one, programmed in the
         * 32-bit part of the guest's PCI space; one window cannot serve
         * BARs there and BARs placed in the 64-bit part too */
        if (win->prefetchable && win->start <= 0xffffffffULL &&
            win->end > 0xffffffffULL) {
            what = qemuEAWindowDescribe(layout, win);
            virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                           _("the guest bridge window 0x%1$llx-0x%2$llx for %3$s would forward prefetchable BARs below and above 4 GiB; a bridge has one prefetchable window, so give these BARs addresses with <bar> on one side of 4 GiB"),
                           win->start, win->end, what);
            return -1;
        }

        for (j = 0; j < map->nranges; j++) {
            const qemuEAGuestRange *range = &map->ranges[j];

            if (win->start > range->end || win->end < range->start)
                continue;

            what = qemuEAWindowDescribe(layout, win);
            virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                           _("the guest bridge window 0x%1$llx-0x%2$llx for %3$s overlaps %4$s at 0x%5$llx-0x%6$llx in the guest; the window runs from the lowest to the highest of these BARs in units of 1 MiB, so move the BARs with <bar> until it avoids that range, or change the guest's memory or CPU configuration"),
                           win->start, win->end, what,
                           range->name, range->start, range->end);
            return -1;
        }

        /* W3: the windows are sorted by start */
        for (j = i + 1; j < windows->len; j++) {
            const qemuEAWindow *next = &g_array_index(windows, qemuEAWindow, j);
            g_autofree char *nextWhat = NULL;

            if (next->start > win->end)
                break;

            if (next->bridge != win->bridge &&
                (qemuEABridgeIsAbove(layout, win->bridge, next->bridge) ||
                 qemuEABridgeIsAbove(layout, next->bridge, win->bridge)))
                continue;

            what = qemuEAWindowDescribe(layout, next);
            nextWhat = qemuEAWindowDescribe(layout, win);
            virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                           _("the guest bridge window 0x%1$llx-0x%2$llx for %3$s overlaps the guest bridge window 0x%4$llx-0x%5$llx for %6$s; a window runs from the lowest to the highest of its BARs in units of 1 MiB, so give the BARs addresses with <bar> that keep the windows apart"),
                           next->start, next->end, what,
                           win->start, win->end, nextWhat);
            return -1;
        }
    }

    return 0;
}


/* What qemuEACheckIOMMUGroup() needs of the domain, found once */
typedef struct _qemuEAGroupCheck qemuEAGroupCheck;
struct _qemuEAGroupCheck {
    GHashTable *hostdevs;       /* host address -> PCI host device of the domain */
    GHashTable *groups;         /* IOMMU groups checked, as pointers */
    virDomainControllerDef **byIdx;
};


static void
qemuEAGroupCheckClear(qemuEAGroupCheck *check)
{
    g_clear_pointer(&check->hostdevs, g_hash_table_unref);
    g_clear_pointer(&check->groups, g_hash_table_unref);
    g_clear_pointer(&check->byIdx, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(qemuEAGroupCheck, qemuEAGroupCheckClear);


static void
qemuEAGroupCheckInit(qemuEAGroupCheck *check,
                     const virDomainDef *def)
{
    size_t i;

    check->hostdevs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    check->groups = g_hash_table_new(g_direct_hash, g_direct_equal);
    check->byIdx = qemuEAIndexControllers(def);

    for (i = 0; i < def->nhostdevs; i++) {
        virDomainHostdevDef *hostdev = def->hostdevs[i];
        char *key;

        if (hostdev->mode != VIR_DOMAIN_HOSTDEV_MODE_SUBSYS ||
            hostdev->source.subsys.type != VIR_DOMAIN_HOSTDEV_SUBSYS_TYPE_PCI)
            continue;

        key = virPCIDeviceAddressAsString(&hostdev->source.subsys.u.pci.addr);
        if (g_hash_table_contains(check->hostdevs, key))
            g_free(key);
        else
            g_hash_table_insert(check->hostdevs, key, hostdev);
    }
}


/* H2: the other endpoints of a fixedBar device's IOMMU group that are
 * assigned to the domain have <fixedBar> too and sit below the same
 * pcie-expander-bus. Each group is read and checked once, for the first
 * of its devices, which covers every pair of devices in it. */
static int
qemuEACheckIOMMUGroup(qemuEAGroupCheck *check,
                      const virDomainHostdevDef *hostdev)
{
    virPCIDeviceAddress addr = hostdev->source.subsys.u.pci.addr;
    g_autofree virPCIDeviceAddress **members = NULL;
    size_t nmembers = 0;
    const virDomainControllerDef *pxb;
    int group;
    size_t i;
    int ret = -1;

    switch ((group = virPCIDeviceAddressGetIOMMUGroupNum(&addr))) {
    case -2: {
        g_autofree char *hostAddr = virPCIDeviceAddressAsString(&addr);

        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("host device %1$s with <fixedBar> has no IOMMU group, enable the IOMMU on the host"),
                       hostAddr);
        return -1;
    }
    case -1:
        return -1;
    default:
        break;
    }

    if (!g_hash_table_add(check->groups, GINT_TO_POINTER(group)))
        return 0;

    pxb = qemuEAGetHostdevPxb(check->byIdx, hostdev);

    /* on failure part of the group may have been read: free it too */
    if (virPCIDeviceAddressGetIOMMUGroupAddresses(&addr, &members, &nmembers) < 0)
        goto cleanup;

    for (i = 0; i < nmembers; i++) {
        g_autofree char *otherAddr = virPCIDeviceAddressAsString(members[i]);
        const virDomainHostdevDef *other = g_hash_table_lookup(check->hostdevs, otherAddr);
        g_autofree char *hostAddr = NULL;

        if (!other || other == hostdev)
            continue;

        if (other->fixedBar &&
            qemuEAGetHostdevPxb(check->byIdx, other) == pxb)
            continue;

        hostAddr = virPCIDeviceAddressAsString(&addr);
        if (!other->fixedBar) {
            virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                           _("host device %1$s with <fixedBar> shares an IOMMU group with host device %2$s, which has no <fixedBar>; give it <fixedBar> too or do not assign it"),
                           hostAddr, otherAddr);
        } else {
            virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                           _("host devices %1$s and %2$s with <fixedBar> share an IOMMU group but sit below different pcie-expander-buses, place them below the same one"),
                           hostAddr, otherAddr);
        }
        goto cleanup;
    }

    ret = 0;

 cleanup:
    for (i = 0; i < nmembers; i++)
        g_free(members[i]);
    return ret;
}


/* The guest bridges above @hostdev, its port first, up to its root bus */
static void
qemuEAGetGuestBridges(virDomainControllerDef **byIdx,
                      const virDomainHostdevDef *hostdev,
                      qemuEADevice *dev)
{
    const virDomainDeviceInfo *info = hostdev->info;

    while (dev->nbridges < QEMU_EA_MAX_PCI_BUSES &&
           info->type == VIR_DOMAIN_DEVICE_ADDRESS_TYPE_PCI &&
           info->addr.pci.bus < QEMU_EA_MAX_PCI_BUSES) {
        virDomainControllerDef *parent = byIdx[info->addr.pci.bus];

        if (!parent || !qemuEAIsBridgeModel(parent->model))
            break;

        VIR_APPEND_ELEMENT_COPY(dev->bridges, dev->nbridges, parent->idx);
        info = &parent->info;
    }
}


/* Whether the devices of @layout below guest bridge @bridge are all below
 * one host switch: some upstream port is in the host bridges of each, as
 * virPCIEAGetBridges() found them, @nhosts[i] of @hosts[i] for device @i.
 * If not, @first and @other name two devices that share none. */
static bool
qemuEAHaveHostSwitch(const qemuEALayout *layout,
                     int bridge,
                     virPCIEABridge **hosts,
                     size_t *nhosts,
                     size_t *first,
                     size_t *other)
{
    g_autofree bool *common = NULL;
    size_t i;
    size_t j;
    size_t k;

    *first = layout->ndevices;
    for (i = 0; i < layout->ndevices; i++) {
        bool any = false;

        if (!qemuEADeviceIsBelow(layout, i, bridge))
            continue;

        if (*first == layout->ndevices) {
            *first = i;
            common = g_new0(bool, nhosts[i]);
            for (j = 0; j < nhosts[i]; j++)
                common[j] = hosts[i][j].type == VIR_PCI_EA_BRIDGE_UPSTREAM_PORT;
            continue;
        }

        /* keep the upstream ports of the first device that are above
         * this one too */
        for (j = 0; j < nhosts[*first]; j++) {
            if (!common[j])
                continue;
            for (k = 0; k < nhosts[i]; k++) {
                if (virPCIDeviceAddressEqual(&hosts[*first][j].addr, &hosts[i][k].addr))
                    break;
            }
            common[j] = k < nhosts[i];
            any |= common[j];
        }

        if (!any) {
            *other = i;
            return false;
        }
    }

    return true;
}


/* H5: the devices below one guest switch are below one host switch, or
 * the guest would advertise a peer-to-peer path that the host lacks. A
 * device whose host tree cannot be read is below no switch. */
static int
qemuEACheckSwitches(const virDomainDef *def,
                    const qemuEALayout *layout)
{
    g_autofree virPCIEABridge **hosts = g_new0(virPCIEABridge *, layout->ndevices);
    g_autofree size_t *nhosts = g_new0(size_t, layout->ndevices);
    bool read = false;
    size_t i;
    int ret = -1;

    for (i = 0; i < def->ncontrollers; i++) {
        const virDomainControllerDef *cont = def->controllers[i];
        size_t first;
        size_t other;
        size_t j;

        if (cont->type != VIR_DOMAIN_CONTROLLER_TYPE_PCI ||
            cont->model != VIR_DOMAIN_CONTROLLER_MODEL_PCIE_SWITCH_UPSTREAM_PORT)
            continue;

        if (!read) {
            for (j = 0; j < layout->ndevices; j++) {
                if (virPCIEAGetBridges(&layout->devices[j].hostAddr,
                                       &hosts[j], &nhosts[j]) < 0)
                    nhosts[j] = 0;
            }
            read = true;
        }

        if (!qemuEAHaveHostSwitch(layout, cont->idx, hosts, nhosts, &first, &other)) {
            g_autofree char *firstAddr = virPCIDeviceAddressAsString(&layout->devices[first].hostAddr);
            g_autofree char *otherAddr = virPCIDeviceAddressAsString(&layout->devices[other].hostAddr);

            virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                           _("host devices %1$s and %2$s with <fixedBar> are below pcie-switch-upstream-port with index %3$d in the guest, but below no common PCIe switch on the host, so the guest would see a peer-to-peer path that the host does not have; place them below different pcie-root-ports"),
                           firstAddr, otherAddr, cont->idx);
            goto cleanup;
        }
    }

    ret = 0;

 cleanup:
    for (i = 0; i < layout->ndevices; i++)
        g_free(hosts[i]);
    return ret;
}


/**
 * qemuEAPrepareDomain:
 * @driver: QEMU driver
 * @def: domain definition, with addresses assigned
 * @layout: filled with the placed BARs
 *
 * Read the BAR layout of every host device with <fixedBar> from the host,
 * apply the <bar> overrides and check that the result can work: every BAR
 * has an address (H1), the devices of an IOMMU group are placed together
 * (H2), the devices below a guest switch are below one host switch (H5),
 * and every BAR and bridge window is aligned, within the guest's reach and
 * clear of guest RAM, the machine's fixed regions and every other BAR
 * (H3). Runs when the domain starts, including domxml-to-native, never at
 * define.
 *
 * Returns 0 on success, -1 on error (reported).
 */
int
qemuEAPrepareDomain(virQEMUDriver *driver,
                    const virDomainDef *def,
                    qemuEALayout **layout)
{
    g_autoptr(qemuEALayout) ret = g_new0(qemuEALayout, 1);
    g_autoptr(qemuEAGuestMap) map = NULL;
    g_autoptr(virCPUDef) hostCPU = NULL;
    g_auto(qemuEAGroupCheck) groupCheck = { 0 };
    unsigned int hostBits = 0;
    size_t i;
    size_t j;

    *layout = NULL;

    for (i = 0; i < def->nhostdevs; i++) {
        const virDomainHostdevDef *hostdev = def->hostdevs[i];
        qemuEADevice dev = { 0 };

        if (!hostdev->fixedBar)
            continue;

        if (qemuEAPrepareDevice(hostdev, &dev) < 0) {
            g_free(dev.bars);
            return -1;
        }

        if (!groupCheck.hostdevs)
            qemuEAGroupCheckInit(&groupCheck, def);
        qemuEAGetGuestBridges(groupCheck.byIdx, hostdev, &dev);

        VIR_APPEND_ELEMENT(ret->devices, ret->ndevices, dev);

        if (qemuEACheckIOMMUGroup(&groupCheck, hostdev) < 0)
            return -1;
    }

    if (ret->ndevices == 0)
        return 0;

    /* best-effort: without it the vendor of the host CPU is unknown */
    if (!(hostCPU = virQEMUDriverGetHostCPU(driver)))
        virResetLastError();

    /* The host addresses its own BARs, so it has at least as many bits
     * as the highest of them needs */
    if (hostCPU && hostCPU->addr && hostCPU->addr->bits > 0)
        hostBits = hostCPU->addr->bits;
    for (i = 0; i < ret->ndevices; i++) {
        for (j = 0; j < ret->devices[i].nbars; j++) {
            const qemuEABAR *bar = &ret->devices[i].bars[j];

            if (bar->hostStart != 0)
                hostBits = MAX(hostBits, qemuEAAddressBits(bar->hostStart, bar->size));
        }
    }

    map = qemuEAGuestMapNew(def, hostCPU, hostBits);

    for (i = 0; i < ret->ndevices; i++) {
        g_autofree char *hostAddr = NULL;

        hostAddr = virPCIDeviceAddressAsString(&ret->devices[i].hostAddr);
        for (j = 0; j < ret->devices[i].nbars; j++) {
            if (qemuEACheckBAR(map, hostAddr, &ret->devices[i].bars[j]) < 0)
                return -1;
        }
    }

    if (qemuEACheckOverlaps(ret) < 0 ||
        qemuEACheckSwitches(def, ret) < 0 ||
        qemuEACheckWindows(map, ret) < 0)
        return -1;

    *layout = g_steal_pointer(&ret);
    return 0;
}


/**
 * qemuEALayoutFormat:
 * @buf: buffer for the status XML of the domain
 * @layout: placed BARs of the running domain, or NULL
 *
 * Record which guest address each BAR got and where it is on the host, so
 * that a restarted daemon knows what the running guest was given.
 */
void
qemuEALayoutFormat(virBuffer *buf,
                   const qemuEALayout *layout)
{
    g_auto(virBuffer) childBuf = VIR_BUFFER_INIT_CHILD(buf);
    size_t i;
    size_t j;

    if (!layout)
        return;

    for (i = 0; i < layout->ndevices; i++) {
        const qemuEADevice *dev = &layout->devices[i];
        g_auto(virBuffer) attrBuf = VIR_BUFFER_INITIALIZER;
        g_auto(virBuffer) barBuf = VIR_BUFFER_INIT_CHILD(&childBuf);
        g_autofree char *hostAddr = virPCIDeviceAddressAsString(&dev->hostAddr);

        virBufferAsprintf(&attrBuf, " host='%s'", hostAddr);
        if (dev->port >= 0)
            virBufferAsprintf(&attrBuf, " port='%d'", dev->port);

        for (j = 0; j < dev->nbars; j++) {
            const qemuEABAR *bar = &dev->bars[j];

            virBufferAsprintf(&barBuf, "<bar index='%u' guest='0x%llx' size='0x%llx'",
                              bar->idx, bar->guestStart, bar->size);
            if (bar->hostStart)
                virBufferAsprintf(&barBuf, " host='0x%llx'", bar->hostStart);
            virBufferAsprintf(&barBuf, " prefetchable='%s' mem64='%s'/>\n",
                              virTristateBoolTypeToString(virTristateBoolFromBool(bar->prefetchable)),
                              virTristateBoolTypeToString(virTristateBoolFromBool(bar->mem64)));
        }

        virXMLFormatElement(&childBuf, "device", &attrBuf, &barBuf);
    }

    virXMLFormatElement(buf, "fixedBarLayout", NULL, &childBuf);
}


/**
 * qemuEALayoutParse:
 * @ctxt: XPath context of the status XML of the domain
 * @layout: filled with the placed BARs, NULL if there are none
 *
 * The layout only says what a running guest was given; a caller loading a
 * running domain keeps the domain when this fails.
 *
 * Returns 0 on success, -1 on error (reported).
 */
int
qemuEALayoutParse(xmlXPathContextPtr ctxt,
                  qemuEALayout **layout)
{
    VIR_XPATH_NODE_AUTORESTORE(ctxt)
    g_autoptr(qemuEALayout) ret = NULL;
    g_autofree xmlNodePtr *devNodes = NULL;
    int ndevNodes;
    size_t i;
    size_t j;
    size_t k;

    *layout = NULL;

    if ((ndevNodes = virXPathNodeSet("./fixedBarLayout/device", ctxt, &devNodes)) <= 0)
        return ndevNodes;

    ret = g_new0(qemuEALayout, 1);
    ret->devices = g_new0(qemuEADevice, ndevNodes);

    for (i = 0; i < ndevNodes; i++) {
        qemuEADevice *dev = &ret->devices[i];
        g_autofree xmlNodePtr *barNodes = NULL;
        g_autofree char *hostAddr = NULL;
        int nbarNodes;

        ret->ndevices++;
        ctxt->node = devNodes[i];

        if (!(hostAddr = virXMLPropString(devNodes[i], "host")) ||
            virPCIDeviceAddressParse(hostAddr, &dev->hostAddr) < 0) {
            virReportError(VIR_ERR_INTERNAL_ERROR,
                           _("invalid host address '%1$s' in fixedBarLayout"),
                           NULLSTR(hostAddr));
            return -1;
        }

        if (virXMLPropInt(devNodes[i], "port", 10, VIR_XML_PROP_NONNEGATIVE,
                          &dev->port, -1) < 0)
            return -1;

        if ((nbarNodes = virXPathNodeSet("./bar", ctxt, &barNodes)) < 0)
            return -1;

        dev->bars = g_new0(qemuEABAR, nbarNodes);

        for (j = 0; j < nbarNodes; j++) {
            qemuEABAR *bar = &dev->bars[j];
            virTristateBool prefetchable;
            virTristateBool mem64;

            if (virXMLPropUInt(barNodes[j], "index", 10, VIR_XML_PROP_REQUIRED,
                               &bar->idx) < 0 ||
                virXMLPropULongLong(barNodes[j], "guest", 16, VIR_XML_PROP_REQUIRED,
                                    &bar->guestStart) < 0 ||
                virXMLPropULongLong(barNodes[j], "size", 16,
                                    VIR_XML_PROP_REQUIRED | VIR_XML_PROP_NONZERO,
                                    &bar->size) < 0 ||
                virXMLPropULongLong(barNodes[j], "host", 16, VIR_XML_PROP_NONE,
                                    &bar->hostStart) < 0 ||
                virXMLPropTristateBool(barNodes[j], "prefetchable", VIR_XML_PROP_REQUIRED,
                                       &prefetchable) < 0 ||
                virXMLPropTristateBool(barNodes[j], "mem64", VIR_XML_PROP_REQUIRED,
                                       &mem64) < 0)
                return -1;

            if (bar->idx >= VIR_PCI_EA_NUM_BARS) {
                virReportError(VIR_ERR_INTERNAL_ERROR,
                               _("invalid BAR index %1$u in fixedBarLayout"),
                               bar->idx);
                return -1;
            }

            for (k = 0; k < dev->nbars && dev->bars[k].idx != bar->idx; k++)
                ;
            if (k < dev->nbars) {
                virReportError(VIR_ERR_INTERNAL_ERROR,
                               _("BAR %1$u of host device %2$s is listed twice in fixedBarLayout"),
                               bar->idx, hostAddr);
                return -1;
            }

            /* BAR sizes are powers of two, and a BAR ends below 2^64 */
            if ((bar->size & (bar->size - 1)) != 0 ||
                bar->guestStart + (bar->size - 1) < bar->guestStart ||
                bar->hostStart + (bar->size - 1) < bar->hostStart) {
                virReportError(VIR_ERR_INTERNAL_ERROR,
                               _("invalid BAR %1$u of host device %2$s in fixedBarLayout: size 0x%3$llx at guest address 0x%4$llx, host address 0x%5$llx"),
                               bar->idx, hostAddr, bar->size,
                               bar->guestStart, bar->hostStart);
                return -1;
            }

            bar->prefetchable = prefetchable == VIR_TRISTATE_BOOL_YES;
            bar->mem64 = mem64 == VIR_TRISTATE_BOOL_YES;
            dev->nbars++;
        }
    }

    *layout = g_steal_pointer(&ret);
    return 0;
}


static const qemuEADevice *
qemuEALayoutFindDevice(const qemuEALayout *layout,
                       const virPCIDeviceAddress *hostAddr)
{
    size_t i;

    if (!layout)
        return NULL;

    for (i = 0; i < layout->ndevices; i++) {
        if (virPCIDeviceAddressEqual(&layout->devices[i].hostAddr, hostAddr))
            return &layout->devices[i];
    }

    return NULL;
}


/* The PCI host device of @dev if it has one, fixedBar or not */
static const virDomainHostdevDef *
qemuEADeviceGetPCIHostdev(const virDomainDeviceDef *dev)
{
    const virDomainHostdevDef *hostdev = NULL;

    if (dev->type == VIR_DOMAIN_DEVICE_HOSTDEV)
        hostdev = dev->data.hostdev;
    else if (dev->type == VIR_DOMAIN_DEVICE_NET &&
             dev->data.net->type == VIR_DOMAIN_NET_TYPE_HOSTDEV)
        hostdev = &dev->data.net->data.hostdev.def;

    if (!hostdev ||
        hostdev->mode != VIR_DOMAIN_HOSTDEV_MODE_SUBSYS ||
        hostdev->source.subsys.type != VIR_DOMAIN_HOSTDEV_SUBSYS_TYPE_PCI)
        return NULL;

    return hostdev;
}


/* H2 for a PCI host device without <fixedBar> attached to the running
 * domain @def; the host is read best-effort: a device whose IOMMU group
 * libvirt cannot find is left to the checks of the attach itself */
static int
qemuEAValidateHotplugGroup(const virDomainDeviceDef *dev,
                           const virDomainDef *def)
{
    const virDomainHostdevDef *hostdev = qemuEADeviceGetPCIHostdev(dev);
    virPCIDeviceAddress addr;
    int group;
    size_t i;

    if (!hostdev)
        return 0;

    /* most domains have no device with <fixedBar>: leave the host alone */
    for (i = 0; i < def->nhostdevs && !def->hostdevs[i]->fixedBar; i++)
        ;
    if (i == def->nhostdevs)
        return 0;

    addr = hostdev->source.subsys.u.pci.addr;
    if ((group = virPCIDeviceAddressGetIOMMUGroupNum(&addr)) < 0) {
        virResetLastError();
        return 0;
    }

    for (i = 0; i < def->nhostdevs; i++) {
        const virDomainHostdevDef *other = def->hostdevs[i];
        virPCIDeviceAddress otherAddr;
        g_autofree char *hostAddr = NULL;
        g_autofree char *fixedAddr = NULL;

        if (!other->fixedBar ||
            other->source.subsys.type != VIR_DOMAIN_HOSTDEV_SUBSYS_TYPE_PCI)
            continue;

        otherAddr = other->source.subsys.u.pci.addr;
        if (virPCIDeviceAddressGetIOMMUGroupNum(&otherAddr) != group) {
            virResetLastError();
            continue;
        }

        hostAddr = virPCIDeviceAddressAsString(&addr);
        fixedAddr = virPCIDeviceAddressAsString(&otherAddr);
        virReportError(VIR_ERR_OPERATION_UNSUPPORTED,
                       _("host device %1$s cannot be attached to the running domain: it shares an IOMMU group with host device %2$s, which has <fixedBar>; add <fixedBar> to it, attach it with --config and restart the domain"),
                       hostAddr, fixedAddr);
        return -1;
    }

    return 0;
}


/**
 * qemuEAValidateHotplug:
 * @dev: device to attach to or detach from a running domain
 * @def: definition of the running domain
 * @attach: true to attach, false to detach
 *
 * The BARs of devices with <fixedBar> and the ranges QEMU reserves for
 * them are fixed when the domain starts, and their root ports have no
 * hotplug: refuse before anything on the host is touched. A PCI host
 * device without <fixedBar> that shares an IOMMU group with a device with
 * <fixedBar> of @def would split the group (H2): refuse attaching it too,
 * and a device with <p2p> that QEMU would refuse, see qemuEACheckP2P().
 *
 * Returns 0 on success, -1 on error (reported).
 */
int
qemuEAValidateHotplug(const virDomainDeviceDef *dev,
                      const virDomainDef *def,
                      bool attach)
{
    const virDomainHostdevDef *hostdev = qemuEADeviceGetFixedBarHostdev(dev);
    g_autofree char *hostAddr = NULL;

    if (!hostdev) {
        const virDomainHostdevDef *pci = qemuEADeviceGetPCIHostdev(dev);

        if (!attach)
            return 0;
        if (pci && pci->p2p && qemuEACheckP2PHostdev(pci) < 0)
            return -1;
        return qemuEAValidateHotplugGroup(dev, def);
    }

    hostAddr = virPCIDeviceAddressAsString(&hostdev->source.subsys.u.pci.addr);

    if (attach) {
        virReportError(VIR_ERR_OPERATION_UNSUPPORTED,
                       _("host device %1$s with <fixedBar> cannot be attached to a running domain, its BARs are placed when the domain starts; attach it with --config and restart the domain"),
                       hostAddr);
    } else {
        virReportError(VIR_ERR_OPERATION_UNSUPPORTED,
                       _("host device %1$s with <fixedBar> cannot be detached from a running domain; detach it with --config and restart the domain"),
                       hostAddr);
    }
    return -1;
}


/**
 * qemuEAValidateMigration:
 * @def: definition of a running domain
 *
 * With GPA == HPA the guest depends on the BAR layout of this host: refuse
 * to migrate it, save it or snapshot its memory, whatever QEMU reports
 * about migration blockers.
 *
 * Returns 0 on success, -1 on error (reported).
 */
int
qemuEAValidateMigration(const virDomainDef *def)
{
    size_t i;

    for (i = 0; i < def->nhostdevs; i++) {
        const virDomainHostdevDef *hostdev = def->hostdevs[i];
        g_autofree char *hostAddr = NULL;

        if (!hostdev->fixedBar)
            continue;

        hostAddr = virPCIDeviceAddressAsString(&hostdev->source.subsys.u.pci.addr);
        virReportError(VIR_ERR_OPERATION_UNSUPPORTED,
                       _("cannot migrate, save or snapshot the memory of a domain with host device %1$s with <fixedBar>, the guest depends on the BAR layout of this host"),
                       hostAddr);
        return -1;
    }

    return 0;
}


/**
 * qemuEABuildPortProps:
 * @props: properties of a pcie-root-port for which qemuEAIsEAPort() is
 *         true
 *
 * Keep firmware from reserving any window for the port: the devices below
 * it have fixed BARs and hotplug is off.
 *
 * Returns 0 on success, -1 on error (reported).
 */
int
qemuEABuildPortProps(virJSONValue *props)
{
    if (virJSONValueObjectAppendNumberUlong(props,
                                            qemuEANames[QEMU_EA_NAME_PORT_IO_RESERVE],
                                            0) < 0 ||
        virJSONValueObjectAppendNumberUlong(props,
                                            qemuEANames[QEMU_EA_NAME_PORT_MEM_RESERVE],
                                            0) < 0 ||
        virJSONValueObjectAppendNumberUlong(props,
                                            qemuEANames[QEMU_EA_NAME_PORT_PREF64_RESERVE],
                                            0) < 0)
        return -1;

    return 0;
}


/**
 * qemuEABuildHostdevProps:
 * @layout: placed BARs of the domain, from qemuEAPrepareDomain()
 * @hostdev: PCI host device with <fixedBar>
 * @props: its vfio-pci properties
 *
 * Add EA mode, the guest address of every placed BAR and, unless <rom>
 * already does, switch the ROM BAR off.
 *
 * Returns 0 on success, -1 on error (reported).
 */
int
qemuEABuildHostdevProps(const qemuEALayout *layout,
                        const virDomainHostdevDef *hostdev,
                        virJSONValue *props)
{
    const virPCIDeviceAddress *addr = &hostdev->source.subsys.u.pci.addr;
    const qemuEADevice *dev = qemuEALayoutFindDevice(layout, addr);
    size_t i;

    if (!dev) {
        g_autofree char *hostAddr = virPCIDeviceAddressAsString(addr);

        virReportError(VIR_ERR_INTERNAL_ERROR,
                       _("BAR layout of host device %1$s with <fixedBar> was not prepared"),
                       hostAddr);
        return -1;
    }

    if (virJSONValueObjectAppendBoolean(props,
                                        qemuEANames[QEMU_EA_NAME_VFIO_EA],
                                        true) < 0)
        return -1;

    for (i = 0; i < dev->nbars; i++) {
        const qemuEABAR *bar = &dev->bars[i];

        if (virJSONValueObjectAppendNumberUlong(props,
                                                qemuEANames[QEMU_EA_NAME_VFIO_BAR0_ADDR + bar->idx],
                                                bar->guestStart) < 0)
            return -1;

        if (bar->sizeGiven &&
            virJSONValueObjectAppendNumberUlong(props,
                                                qemuEANames[QEMU_EA_NAME_VFIO_BAR0_SIZE + bar->idx],
                                                bar->size) < 0)
            return -1;
    }

    /* <rom bar='off'/> is formatted by the generic ROM code */
    if (hostdev->info->rombar != VIR_TRISTATE_SWITCH_OFF &&
        virJSONValueObjectAppendNumberInt(props,
                                          qemuEANames[QEMU_EA_NAME_VFIO_ROMBAR],
                                          0) < 0)
        return -1;

    return 0;
}


typedef struct _qemuEARange qemuEARange;
struct _qemuEARange {
    unsigned long long start;
    unsigned long long end; /* inclusive */
};


/**
 * qemuEABuildMachineProps:
 * @buf: -machine argument being built
 * @layout: placed BARs of the domain, from qemuEAPrepareDomain(), or NULL
 *
 * Append the guest physical ranges QEMU has to keep free for the placed
 * BARs (H4): the guest bridge windows that forward them (see
 * qemuEALayoutGetWindows()), sorted by address, overlapping and adjacent
 * ones merged: the window of a bridge above a switch spans those of the
 * switch's ports, and qemuEAPrepareDomain() refuses any other overlap.
 * Nothing is appended without <fixedBar>.
 */
void
qemuEABuildMachineProps(virBuffer *buf,
                        const qemuEALayout *layout)
{
    g_autoptr(GArray) windows = NULL;
    g_autoptr(GArray) ranges = g_array_new(FALSE, FALSE, sizeof(qemuEARange));
    const char *list = qemuEANames[QEMU_EA_NAME_MACHINE_FIXED_MMIO];
    size_t nmerged = 0;
    size_t i;

    if (!layout)
        return;

    windows = qemuEALayoutGetWindows(layout);
    for (i = 0; i < windows->len; i++) {
        const qemuEAWindow *win = &g_array_index(windows, qemuEAWindow, i);
        qemuEARange range = { win->start, win->end };

        g_array_append_val(ranges, range);
    }

    if (ranges->len == 0)
        return;

    for (i = 1; i < ranges->len; i++) {
        qemuEARange *last = &g_array_index(ranges, qemuEARange, nmerged);
        qemuEARange *cur = &g_array_index(ranges, qemuEARange, i);

        /* nested windows overlap, siblings may touch */
        if (last->end == ULLONG_MAX || cur->start <= last->end + 1) {
            last->end = MAX(last->end, cur->end);
        } else {
            nmerged++;
            g_array_index(ranges, qemuEARange, nmerged) = *cur;
        }
    }

    for (i = 0; i <= nmerged; i++) {
        const qemuEARange *range = &g_array_index(ranges, qemuEARange, i);

        virBufferAsprintf(buf, ",%s.%zu.%s=0x%llx,%s.%zu.%s=0x%llx",
                          list, i, qemuEANames[QEMU_EA_NAME_MACHINE_FIXED_MMIO_BASE],
                          range->start,
                          list, i, qemuEANames[QEMU_EA_NAME_MACHINE_FIXED_MMIO_SIZE],
                          range->end - range->start + 1);
    }
}
