/*
 * qemu_ea.h: assigned PCI devices with BARs at fixed guest addresses
 *            (PCI Enhanced Allocation)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "domain_addr.h"
#include "domain_conf.h"
#include "qemu_capabilities.h"
#include "qemu_conf.h"
#include "virbuffer.h"
#include "virjson.h"
#include "virxml.h"

/* Every name of the QEMU interface this feature relies on. */
typedef enum {
    QEMU_EA_NAME_VFIO_EA,               /* vfio-pci: describe BARs by EA */
    QEMU_EA_NAME_VFIO_BAR0_ADDR,        /* vfio-pci: guest address of BAR0 */
    QEMU_EA_NAME_VFIO_BAR1_ADDR,
    QEMU_EA_NAME_VFIO_BAR2_ADDR,
    QEMU_EA_NAME_VFIO_BAR3_ADDR,
    QEMU_EA_NAME_VFIO_BAR4_ADDR,
    QEMU_EA_NAME_VFIO_BAR5_ADDR,
    QEMU_EA_NAME_VFIO_BAR0_SIZE,        /* vfio-pci: size BAR0 must have */
    QEMU_EA_NAME_VFIO_BAR1_SIZE,
    QEMU_EA_NAME_VFIO_BAR2_SIZE,
    QEMU_EA_NAME_VFIO_BAR3_SIZE,
    QEMU_EA_NAME_VFIO_BAR4_SIZE,
    QEMU_EA_NAME_VFIO_BAR5_SIZE,
    QEMU_EA_NAME_VFIO_ROMBAR,           /* vfio-pci: ROM BAR switch */
    QEMU_EA_NAME_VFIO_NV_CLIQUE,        /* vfio-pci: NVIDIA GPUDirect clique */
    QEMU_EA_NAME_MACHINE_FIXED_MMIO,    /* machine: reserved guest ranges */
    QEMU_EA_NAME_MACHINE_FIXED_MMIO_BASE,
    QEMU_EA_NAME_MACHINE_FIXED_MMIO_SIZE,
    QEMU_EA_NAME_PORT_IO_RESERVE,       /* pcie-root-port: firmware padding */
    QEMU_EA_NAME_PORT_MEM_RESERVE,
    QEMU_EA_NAME_PORT_PREF64_RESERVE,

    QEMU_EA_NAME_LAST
} qemuEAName;

#define QEMU_EA_NAME_SIZE 32

/* Character arrays rather than pointers so that an entry is an address
 * constant, usable in the static probe tables of qemu_capabilities.c. */
extern const char qemuEANames[QEMU_EA_NAME_LAST][QEMU_EA_NAME_SIZE];

int
qemuEAValidateHostdev(const virDomainHostdevDef *hostdev,
                      const virDomainDef *def,
                      virQEMUCaps *qemuCaps);

int
qemuEAValidateP2P(const virDomainHostdevDef *hostdev,
                  const virDomainDef *def);

int
qemuEACheckP2P(const virDomainDef *def);

int
qemuEAValidateDomain(const virDomainDef *def,
                     virQEMUCaps *qemuCaps);

int
qemuEAValidateDeviceAddress(const virDomainDeviceDef *dev,
                            const virDomainDeviceInfo *info,
                            const virDomainDef *def);

int
qemuEAAssignPlacement(virDomainDef *def);

void
qemuEAIsolatePCIBuses(const virDomainDef *def,
                      virDomainPCIAddressSet *addrs);

bool
qemuEAMachineIsSupported(const char *machine,
                         virArch arch);

bool
qemuEAIsEAPort(const virDomainDef *def,
               const virDomainControllerDef *cont);

/* Runtime state, in the private data of a running domain: where the BARs
 * of every device with <fixedBar> are in the guest */
typedef struct _qemuEABAR qemuEABAR;
struct _qemuEABAR {
    unsigned int idx;               /* BAR number */
    unsigned long long hostStart;   /* host physical address, 0 if none */
    unsigned long long guestStart;  /* guest physical address */
    unsigned long long size;
    bool prefetchable;
    bool mem64;
    bool sizeGiven;                 /* size from <bar size>, QEMU checks it */
};

typedef struct _qemuEADevice qemuEADevice;
struct _qemuEADevice {
    virPCIDeviceAddress hostAddr;
    int port;                       /* index of the controller it is plugged
                                     * into (its pcie-root-port or switch
                                     * downstream port), -1 if unknown */
    int *bridges;                   /* indexes of the guest bridges above it,
                                     * @port first; not in the status XML */
    size_t nbridges;
    qemuEABAR *bars;                /* memory BARs in index order */
    size_t nbars;
};

typedef struct _qemuEALayout qemuEALayout;
struct _qemuEALayout {
    qemuEADevice *devices;
    size_t ndevices;
};

void
qemuEALayoutFree(qemuEALayout *layout);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(qemuEALayout, qemuEALayoutFree);

/* Where the guest physical address space has no room for fixed BARs */
typedef struct _qemuEAGuestRange qemuEAGuestRange;
struct _qemuEAGuestRange {
    char *name;                     /* what is there, for error messages */
    unsigned long long start;
    unsigned long long end;         /* inclusive */
};

typedef struct _qemuEAGuestMap qemuEAGuestMap;
struct _qemuEAGuestMap {
    qemuEAGuestRange *ranges;
    size_t nranges;
    unsigned int physBits;          /* guest physical address width */
    const char *physBitsOrigin;     /* where the width comes from */
    const char *physBitsRemedy;     /* how to get a wider one */
};

void
qemuEAGuestMapFree(qemuEAGuestMap *map);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(qemuEAGuestMap, qemuEAGuestMapFree);

qemuEAGuestMap *
qemuEAGuestMapNew(const virDomainDef *def,
                  const virCPUDef *hostCPU,
                  unsigned int hostBits);

int
qemuEAPrepareDomain(virQEMUDriver *driver,
                    const virDomainDef *def,
                    qemuEALayout **layout);

void
qemuEALayoutFormat(virBuffer *buf,
                   const qemuEALayout *layout);

int
qemuEALayoutParse(xmlXPathContextPtr ctxt,
                  qemuEALayout **layout);

int
qemuEAValidateHotplug(const virDomainDeviceDef *dev,
                      const virDomainDef *def,
                      bool attach);

int
qemuEAValidateMigration(const virDomainDef *def);

int
qemuEABuildPortProps(virJSONValue *props);

int
qemuEABuildHostdevProps(const qemuEALayout *layout,
                        const virDomainHostdevDef *hostdev,
                        virJSONValue *props);

void
qemuEABuildMachineProps(virBuffer *buf,
                        const qemuEALayout *layout);
