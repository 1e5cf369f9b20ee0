/*
 * qemu_ea.c: assigned PCI devices with BARs at fixed guest addresses
 *            (PCI Enhanced Allocation)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <config.h>

#include "qemu_ea.h"
#include "qemu_domain.h"

#include "virerror.h"
#include "virlog.h"
#include "virpciea.h"

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
    [QEMU_EA_NAME_VFIO_ROMBAR] = "rombar",
    [QEMU_EA_NAME_MACHINE_FIXED_MMIO] = "x-fixed-mmio",
    [QEMU_EA_NAME_MACHINE_FIXED_MMIO_BASE] = "base",
    [QEMU_EA_NAME_MACHINE_FIXED_MMIO_SIZE] = "size",
    [QEMU_EA_NAME_PORT_IO_RESERVE] = "io-reserve",
    [QEMU_EA_NAME_PORT_MEM_RESERVE] = "mem-reserve",
    [QEMU_EA_NAME_PORT_PREF64_RESERVE] = "pref64-reserve",
};

G_STATIC_ASSERT(QEMU_EA_NAME_VFIO_BAR5_ADDR - QEMU_EA_NAME_VFIO_BAR0_ADDR ==
                VIR_PCI_EA_NUM_BARS - 1);


/* A device with fixed BARs sits at slot 0 of a pcie-root-port that is
 * plugged directly into a pcie-expander-bus. */
static int
qemuEAValidatePlacement(const virDomainHostdevDef *hostdev,
                        const virDomainDef *def,
                        const char *hostAddr)
{
    const virDomainDeviceInfo *info = hostdev->info;
    const virDomainControllerDef *port = NULL;
    const virDomainControllerDef *pxb = NULL;
    int idx;

    if (info->type == VIR_DOMAIN_DEVICE_ADDRESS_TYPE_PCI &&
        info->addr.pci.slot == 0 &&
        (idx = virDomainControllerFind(def, VIR_DOMAIN_CONTROLLER_TYPE_PCI,
                                       info->addr.pci.bus)) >= 0) {
        port = def->controllers[idx];
    }

    if (port &&
        port->model == VIR_DOMAIN_CONTROLLER_MODEL_PCIE_ROOT_PORT &&
        port->info.type == VIR_DOMAIN_DEVICE_ADDRESS_TYPE_PCI &&
        (idx = virDomainControllerFind(def, VIR_DOMAIN_CONTROLLER_TYPE_PCI,
                                       port->info.addr.pci.bus)) >= 0) {
        pxb = def->controllers[idx];
    }

    if (!pxb || pxb->model != VIR_DOMAIN_CONTROLLER_MODEL_PCIE_EXPANDER_BUS) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("host device %1$s with <fixedBar> must sit at slot 0 of a pcie-root-port plugged into a pcie-expander-bus, give it such a guest <address>"),
                       hostAddr);
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
 * Check the host-independent rules of <fixedBar>: the mode, the VFIO
 * backend, the machine type, the QEMU capabilities, the ROM BAR and the
 * placement of the device.
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

    if (!(def->os.arch == VIR_ARCH_X86_64 && qemuDomainIsQ35(def)) &&
        !(def->os.arch == VIR_ARCH_AARCH64 && qemuDomainIsARMVirt(def))) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("<fixedBar> on host device %1$s needs a q35 (x86_64) or virt (aarch64) machine, not '%2$s' (%3$s)"),
                       hostAddr, def->os.machine, virArchToString(def->os.arch));
        return -1;
    }

    if (!virQEMUCapsGet(qemuCaps, QEMU_CAPS_VFIO_PCI_EA)) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("<fixedBar> on host device %1$s is not supported by this QEMU binary: vfio-pci lacks the '%2$s' property"),
                       hostAddr, qemuEANames[QEMU_EA_NAME_VFIO_EA]);
        return -1;
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

    return qemuEAValidatePlacement(hostdev, def, hostAddr);
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
qemuEAPrepareHostdev(virDomainHostdevDef *hostdev)
{
    virDomainHostdevFixedBar *fixedBar = hostdev->fixedBar;
    const virPCIDeviceAddress *addr = &hostdev->source.subsys.u.pci.addr;
    g_autofree char *hostAddr = virPCIDeviceAddressAsString(addr);
    g_autofree virPCIEABAR *hostBARs = NULL;
    g_autofree virPCIEABAR *guestBARs = NULL;
    size_t nhostBARs = 0;
    size_t nguestBARs = 0;
    size_t i;

    if (virPCIEAGetBARs(addr, &hostBARs, &nhostBARs) < 0)
        return -1;

    for (i = 0; i < fixedBar->nbars; i++) {
        const virPCIEABAR *bar = qemuEAFindBAR(hostBARs, nhostBARs,
                                               fixedBar->bars[i].idx);

        if (!bar || bar->io) {
            virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                           _("<bar index='%1$u'> in <fixedBar> of host device %2$s does not name a memory BAR of the device, remove it"),
                           fixedBar->bars[i].idx, hostAddr);
            return -1;
        }
    }

    guestBARs = g_new0(virPCIEABAR, nhostBARs);

    for (i = 0; i < nhostBARs; i++) {
        virPCIEABAR *bar = &guestBARs[nguestBARs];
        size_t j;

        /* EA describes memory BARs only; I/O BARs stay programmable */
        if (hostBARs[i].io)
            continue;

        *bar = hostBARs[i];

        for (j = 0; j < fixedBar->nbars; j++) {
            if (fixedBar->bars[j].idx == bar->idx)
                bar->start = fixedBar->bars[j].address;
        }

        if (bar->start == 0) {
            virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                           _("BAR %1$u of host device %2$s has no host physical address, give its guest address with <bar index='%1$u' address='...'/> in <fixedBar>"),
                           bar->idx, hostAddr);
            return -1;
        }

        if (bar->start + (bar->size - 1) < bar->start) {
            virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                           _("BAR %1$u of host device %2$s at 0x%3$llx does not fit its size 0x%4$llx below 2^64"),
                           bar->idx, hostAddr, bar->start, bar->size);
            return -1;
        }

        nguestBARs++;
    }

    if (nguestBARs == 0) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("host device %1$s has no memory BAR to place, remove <fixedBar>"),
                       hostAddr);
        return -1;
    }

    g_free(fixedBar->guestBARs);
    fixedBar->guestBARs = g_steal_pointer(&guestBARs);
    fixedBar->nguestBARs = nguestBARs;
    return 0;
}


/**
 * qemuEAPrepareDomain:
 * @def: domain definition
 *
 * Read the BAR layout of every host device with <fixedBar> from the host,
 * apply the <bar> overrides and remember the resulting guest BARs for the
 * command line.  Runs when the domain is started (including
 * domxml-to-native), never at define.
 *
 * Returns 0 on success, -1 on error (reported).
 */
int
qemuEAPrepareDomain(virDomainDef *def)
{
    size_t i;

    for (i = 0; i < def->nhostdevs; i++) {
        virDomainHostdevDef *hostdev = def->hostdevs[i];

        if (!hostdev->fixedBar)
            continue;

        if (qemuEAPrepareHostdev(hostdev) < 0)
            return -1;
    }

    return 0;
}


/**
 * qemuEAIsFixedBarPort:
 * @def: domain definition
 * @cont: controller
 *
 * Returns true if @cont is a pcie-root-port with a device with <fixedBar>
 * behind it.
 */
bool
qemuEAIsFixedBarPort(const virDomainDef *def,
                     const virDomainControllerDef *cont)
{
    size_t i;

    if (cont->type != VIR_DOMAIN_CONTROLLER_TYPE_PCI ||
        cont->model != VIR_DOMAIN_CONTROLLER_MODEL_PCIE_ROOT_PORT)
        return false;

    for (i = 0; i < def->nhostdevs; i++) {
        const virDomainHostdevDef *hostdev = def->hostdevs[i];

        if (hostdev->fixedBar &&
            hostdev->info->type == VIR_DOMAIN_DEVICE_ADDRESS_TYPE_PCI &&
            hostdev->info->addr.pci.bus == cont->idx)
            return true;
    }

    return false;
}


/**
 * qemuEAValidatePort:
 * @cont: controller for which qemuEAIsFixedBarPort() is true
 *
 * The command line switches hotplug and every firmware reservation off on
 * such a port (qemuEABuildPortProps()); refuse a configuration asking for
 * the opposite rather than overriding it silently.
 *
 * Returns 0 on success, -1 on error (reported).
 */
int
qemuEAValidatePort(const virDomainControllerDef *cont)
{
    const virDomainPCIControllerOpts *pciopts = &cont->opts.pciopts;

    if (pciopts->modelName != VIR_DOMAIN_CONTROLLER_PCI_MODEL_NAME_PCIE_ROOT_PORT) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("pcie-root-port with index %1$d connects a device with <fixedBar> and must use model name 'pcie-root-port', not '%2$s'"),
                       cont->idx,
                       virDomainControllerPCIModelNameTypeToString(pciopts->modelName));
        return -1;
    }

    if (pciopts->hotplug == VIR_TRISTATE_SWITCH_ON) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("pcie-root-port with index %1$d connects a device with <fixedBar> and cannot have hotplug enabled, remove hotplug='on'"),
                       cont->idx);
        return -1;
    }

    if (pciopts->memReserve) {
        virReportError(VIR_ERR_CONFIG_UNSUPPORTED,
                       _("pcie-root-port with index %1$d connects a device with <fixedBar> and cannot reserve memory, remove memReserve"),
                       cont->idx);
        return -1;
    }

    return 0;
}


/**
 * qemuEABuildPortProps:
 * @props: properties of a pcie-root-port for which qemuEAIsFixedBarPort()
 *         is true
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
 * @hostdev: PCI host device with <fixedBar>, prepared by qemuEAPrepareDomain()
 * @props: its vfio-pci properties
 *
 * Add EA mode, the guest address of every placed BAR and, unless <rom>
 * already does, switch the ROM BAR off.
 *
 * Returns 0 on success, -1 on error (reported).
 */
int
qemuEABuildHostdevProps(const virDomainHostdevDef *hostdev,
                        virJSONValue *props)
{
    const virDomainHostdevFixedBar *fixedBar = hostdev->fixedBar;
    size_t i;

    if (fixedBar->nguestBARs == 0) {
        g_autofree char *hostAddr = NULL;

        hostAddr = virPCIDeviceAddressAsString(&hostdev->source.subsys.u.pci.addr);
        virReportError(VIR_ERR_INTERNAL_ERROR,
                       _("BAR layout of host device %1$s with <fixedBar> was not prepared"),
                       hostAddr);
        return -1;
    }

    if (virJSONValueObjectAppendBoolean(props,
                                        qemuEANames[QEMU_EA_NAME_VFIO_EA],
                                        true) < 0)
        return -1;

    for (i = 0; i < fixedBar->nguestBARs; i++) {
        const virPCIEABAR *bar = &fixedBar->guestBARs[i];

        if (virJSONValueObjectAppendNumberUlong(props,
                                                qemuEANames[QEMU_EA_NAME_VFIO_BAR0_ADDR + bar->idx],
                                                bar->start) < 0)
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


static gint
qemuEARangeCompare(gconstpointer a,
                   gconstpointer b)
{
    const qemuEARange *ra = a;
    const qemuEARange *rb = b;

    if (ra->start < rb->start)
        return -1;
    if (ra->start > rb->start)
        return 1;
    return 0;
}


/**
 * qemuEABuildMachineProps:
 * @buf: -machine argument being built
 * @def: domain definition, prepared by qemuEAPrepareDomain()
 *
 * Append the guest physical ranges QEMU has to keep free for the placed
 * BARs: the union of all of them, sorted by address, with adjacent and
 * overlapping ranges merged.  Nothing is appended without <fixedBar>.
 */
void
qemuEABuildMachineProps(virBuffer *buf,
                        const virDomainDef *def)
{
    g_autoptr(GArray) ranges = g_array_new(FALSE, FALSE, sizeof(qemuEARange));
    const char *list = qemuEANames[QEMU_EA_NAME_MACHINE_FIXED_MMIO];
    size_t nmerged = 0;
    size_t i;
    size_t j;

    for (i = 0; i < def->nhostdevs; i++) {
        const virDomainHostdevFixedBar *fixedBar = def->hostdevs[i]->fixedBar;

        if (!fixedBar)
            continue;

        for (j = 0; j < fixedBar->nguestBARs; j++) {
            const virPCIEABAR *bar = &fixedBar->guestBARs[j];
            qemuEARange range = { bar->start, bar->start + (bar->size - 1) };

            g_array_append_val(ranges, range);
        }
    }

    if (ranges->len == 0)
        return;

    g_array_sort(ranges, qemuEARangeCompare);

    for (i = 1; i < ranges->len; i++) {
        qemuEARange *last = &g_array_index(ranges, qemuEARange, nmerged);
        qemuEARange *cur = &g_array_index(ranges, qemuEARange, i);

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
