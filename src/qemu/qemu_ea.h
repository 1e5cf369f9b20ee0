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
#include "virbuffer.h"
#include "virjson.h"

/* Every name of the QEMU interface this feature relies on. */
typedef enum {
    QEMU_EA_NAME_VFIO_EA,               /* vfio-pci: describe BARs by EA */
    QEMU_EA_NAME_VFIO_BAR0_ADDR,        /* vfio-pci: guest address of BAR0 */
    QEMU_EA_NAME_VFIO_BAR1_ADDR,
    QEMU_EA_NAME_VFIO_BAR2_ADDR,
    QEMU_EA_NAME_VFIO_BAR3_ADDR,
    QEMU_EA_NAME_VFIO_BAR4_ADDR,
    QEMU_EA_NAME_VFIO_BAR5_ADDR,
    QEMU_EA_NAME_VFIO_ROMBAR,           /* vfio-pci: ROM BAR switch */
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
qemuEAIsEAPxb(const virDomainDef *def,
              const virDomainControllerDef *cont);

bool
qemuEAIsEAPort(const virDomainDef *def,
               const virDomainControllerDef *cont);

int
qemuEAPrepareDomain(virDomainDef *def);

int
qemuEABuildPortProps(virJSONValue *props);

int
qemuEABuildHostdevProps(const virDomainHostdevDef *hostdev,
                        virJSONValue *props);

void
qemuEABuildMachineProps(virBuffer *buf,
                        const virDomainDef *def);
