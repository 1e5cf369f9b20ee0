/*
 * virpcieapriv.h: private host PCI BAR layout helpers for fixed guest BAR placement
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#ifndef LIBVIRT_VIRPCIEAPRIV_H_ALLOW
# error "virpcieapriv.h may only be included by virpciea.c or test suites"
#endif /* LIBVIRT_VIRPCIEAPRIV_H_ALLOW */

#pragma once

#include "virpciea.h"

int
virPCIEAParseResource(const char *devName,
                      const char *content,
                      virPCIEABAR **bars,
                      size_t *nbars);

int
virPCIEAParseConfigBARs(const char *devName,
                        const unsigned char *config,
                        size_t len,
                        virPCIEABAR *bars,
                        size_t nbars);

int
virPCIEAParseRootBus(const char *devName,
                     const char *path,
                     unsigned int *domain,
                     unsigned int *bus);

virPCIEABridgeType
virPCIEAParsePortType(const unsigned char *config,
                      size_t len);

int
virPCIEAParseBridges(const char *devName,
                     const char *path,
                     virPCIEABridge **bridges,
                     size_t *nbridges);
