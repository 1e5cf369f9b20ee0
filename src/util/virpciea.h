/*
 * virpciea.h: host PCI BAR layout for fixed guest BAR placement
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "internal.h"
#include "virpci.h"

/* Standard BARs of a type 0 (endpoint) header: BAR0 .. BAR5. */
#define VIR_PCI_EA_NUM_BARS 6

typedef struct _virPCIEABAR virPCIEABAR;
struct _virPCIEABAR {
    unsigned int idx;            /* BAR number, 0 .. VIR_PCI_EA_NUM_BARS - 1 */
    unsigned long long start;    /* host physical address, 0 if unassigned */
    unsigned long long busStart; /* base address programmed in the BAR register(s) of config space */
    unsigned long long size;     /* in bytes, never 0 */
    bool io;                     /* I/O port BAR */
    bool prefetchable;           /* memory BAR only */
    bool mem64;                  /* 64-bit memory BAR */
};

/* The bridges between a host bridge and a device, as far as sysfs tells */
typedef enum {
    VIR_PCI_EA_BRIDGE_OTHER,            /* no PCI Express port, or unknown */
    VIR_PCI_EA_BRIDGE_ROOT_PORT,
    VIR_PCI_EA_BRIDGE_UPSTREAM_PORT,    /* of a switch */
    VIR_PCI_EA_BRIDGE_DOWNSTREAM_PORT,  /* of a switch */
} virPCIEABridgeType;

typedef struct _virPCIEABridge virPCIEABridge;
struct _virPCIEABridge {
    virPCIDeviceAddress addr;
    virPCIEABridgeType type;
};

int
virPCIEAGetBARs(const virPCIDeviceAddress *addr,
                virPCIEABAR **bars,
                size_t *nbars);

int
virPCIEAGetRootBus(const virPCIDeviceAddress *addr,
                   unsigned int *domain,
                   unsigned int *bus);

int
virPCIEAGetBridges(const virPCIDeviceAddress *addr,
                   virPCIEABridge **bridges,
                   size_t *nbridges);

int
virPCIEAGetIDs(const virPCIDeviceAddress *addr,
               unsigned int *vendor,
               unsigned int *klass);

int
virPCIEAGetNUMANode(const virPCIDeviceAddress *addr,
                    int *node);

int
virPCIEACountRootBusEndpoints(unsigned int domain,
                              unsigned int bus,
                              size_t *count,
                              size_t *switches);

int
virPCIEACountIOMMUGroupEndpoints(unsigned int group,
                                 size_t *count,
                                 size_t *switches);
