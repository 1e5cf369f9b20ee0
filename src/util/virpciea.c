/*
 * virpciea.c: host PCI BAR layout for fixed guest BAR placement
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <config.h>

#define LIBVIRT_VIRPCIEAPRIV_H_ALLOW

#include "virpcieapriv.h"
#include "virerror.h"
#include "virfile.h"
#include "virlog.h"
#include "virstring.h"

#define VIR_FROM_THIS VIR_FROM_NONE

VIR_LOG_INIT("util.pciea");

/* Resource flags as printed in the third column of the sysfs 'resource'
 * file. They are defined in the Linux kernel's include/linux/ioport.h,
 * which promises not to move them because they are exposed to userspace. */
#define VIR_PCI_EA_IORESOURCE_IO 0x00000100
#define VIR_PCI_EA_IORESOURCE_MEM 0x00000200
#define VIR_PCI_EA_IORESOURCE_PREFETCH 0x00002000
#define VIR_PCI_EA_IORESOURCE_MEM_64 0x00100000
#define VIR_PCI_EA_IORESOURCE_UNSET 0x20000000

/* Each line of the 'resource' file holds start, end and flags. */
#define VIR_PCI_EA_RESOURCE_FIELDS 3

/* The file is a few hundred bytes long; anything bigger is bogus. */
#define VIR_PCI_EA_RESOURCE_MAX_LEN (64 * 1024)

/* Standard configuration header: the BAR registers, little-endian, at
 * 0x10 + 4 * N, and the flags in their low bits (PCI Local Bus
 * Specification, 6.2.5.1). */
#define VIR_PCI_EA_CONFIG_BAR0 0x10
#define VIR_PCI_EA_CONFIG_BAR_LEN 4
#define VIR_PCI_EA_CONFIG_BARS_END \
    (VIR_PCI_EA_CONFIG_BAR0 + VIR_PCI_EA_CONFIG_BAR_LEN * VIR_PCI_EA_NUM_BARS)
#define VIR_PCI_EA_BAR_SPACE_IO 0x1
#define VIR_PCI_EA_BAR_MEM_TYPE_MASK 0x6
#define VIR_PCI_EA_BAR_MEM_TYPE_64 0x4
#define VIR_PCI_EA_BAR_MEM_FLAGS 0xfULL
#define VIR_PCI_EA_BAR_IO_FLAGS 0x3ULL

/* Size of the extended configuration space of a PCI Express device, the
 * longest sysfs 'config' file. */
#define VIR_PCI_EA_CONFIG_MAX_LEN 4096



/**
 * virPCIEAParseResourceLine:
 * @devName: device name used in error messages
 * @lineno: 1-based line number used in error messages
 * @line: one line of the sysfs 'resource' file, without the newline
 * @start: filled with the first address of the resource
 * @end: filled with the last address of the resource (inclusive)
 * @flags: filled with the IORESOURCE_* flags of the resource
 *
 * Parses a "0x%016llx 0x%016llx 0x%016llx" line as printed by the kernel.
 *
 * Returns 0 on success, -1 on error (reported).
 */
static int
virPCIEAParseResourceLine(const char *devName,
                          size_t lineno,
                          const char *line,
                          unsigned long long *start,
                          unsigned long long *end,
                          unsigned long long *flags)
{
    g_auto(GStrv) tokens = g_strsplit_set(line, " \t", 0);
    const char *fields[VIR_PCI_EA_RESOURCE_FIELDS] = { NULL, NULL, NULL };
    unsigned long long *values[VIR_PCI_EA_RESOURCE_FIELDS] = { start, end, flags };
    size_t nfields = 0;
    size_t i;

    for (i = 0; tokens[i]; i++) {
        /* consecutive separators produce empty tokens */
        if (*tokens[i] == '\0')
            continue;

        if (nfields < VIR_PCI_EA_RESOURCE_FIELDS)
            fields[nfields] = tokens[i];
        nfields++;
    }

    if (nfields != VIR_PCI_EA_RESOURCE_FIELDS) {
        virReportError(VIR_ERR_INTERNAL_ERROR,
                       _("Malformed line %1$zu in PCI resource file of device '%2$s': expected 3 fields, found %3$zu"),
                       lineno, devName, nfields);
        return -1;
    }

    for (i = 0; i < VIR_PCI_EA_RESOURCE_FIELDS; i++) {
        /* Insist on the "0x" prefix the kernel prints; it also rules out
         * signs and whitespace, which g_ascii_strtoull would accept. */
        if (!STRPREFIX(fields[i], "0x") ||
            !g_ascii_isxdigit(fields[i][2]) ||
            virStrToLong_ull(fields[i], NULL, 16, values[i]) < 0) {
            virReportError(VIR_ERR_INTERNAL_ERROR,
                           _("Field %1$zu in line %2$zu of PCI resource file of device '%3$s' is not a 64-bit hexadecimal number"),
                           i + 1, lineno, devName);
            return -1;
        }
    }

    return 0;
}


/**
 * virPCIEAParseResource:
 * @devName: device name used in error messages, e.g. "0000:01:00.0"
 * @content: contents of the device's sysfs 'resource' file
 * @bars: filled with a newly allocated array of the implemented BARs
 * @nbars: filled with the number of elements in @bars
 *
 * Parses the contents of /sys/bus/pci/devices/DDDD:BB:SS.F/resource. Its
 * first VIR_PCI_EA_NUM_BARS lines describe BAR0 to BAR5; the expansion ROM
 * and SR-IOV BARs that follow are ignored. BARs the device does not
 * implement (all zero lines, such as the upper half of a 64-bit BAR) are
 * skipped, the others are returned in index order. A BAR without an
 * assigned address (IORESOURCE_UNSET) is returned with its size and a
 * start of 0.
 *
 * On success the caller must free @bars with g_free(); it is NULL if the
 * device implements no BAR. On error @bars is NULL and @nbars is 0.
 *
 * Returns 0 on success, -1 on error (reported).
 */
int
virPCIEAParseResource(const char *devName,
                      const char *content,
                      virPCIEABAR **bars,
                      size_t *nbars)
{
    g_auto(GStrv) lines = NULL;
    g_autofree virPCIEABAR *ret = NULL;
    size_t nlines;
    size_t nret = 0;
    size_t i;

    *bars = NULL;
    *nbars = 0;

    lines = g_strsplit(content, "\n", 0);
    nlines = g_strv_length(lines);

    /* the newline terminating the last line yields an empty last element */
    if (nlines > 0 && *lines[nlines - 1] == '\0')
        nlines--;

    if (nlines < VIR_PCI_EA_NUM_BARS) {
        virReportError(VIR_ERR_INTERNAL_ERROR,
                       _("PCI resource file of device '%1$s' is truncated: expected at least %2$d lines, got %3$zu"),
                       devName, VIR_PCI_EA_NUM_BARS, nlines);
        return -1;
    }

    ret = g_new0(virPCIEABAR, VIR_PCI_EA_NUM_BARS);

    for (i = 0; i < VIR_PCI_EA_NUM_BARS; i++) {
        unsigned long long start;
        unsigned long long end;
        unsigned long long flags;
        size_t lineno = i + 1;
        virPCIEABAR *bar;

        if (virPCIEAParseResourceLine(devName, lineno, lines[i],
                                      &start, &end, &flags) < 0)
            return -1;

        /* BAR not implemented, e.g. the upper half of a 64-bit BAR */
        if (start == 0 && end == 0)
            continue;

        if (end < start) {
            virReportError(VIR_ERR_INTERNAL_ERROR,
                           _("Invalid range in line %1$zu of PCI resource file of device '%2$s': end 0x%3$llx is below start 0x%4$llx"),
                           lineno, devName, end, start);
            return -1;
        }

        if (end - start == ULLONG_MAX) {
            virReportError(VIR_ERR_INTERNAL_ERROR,
                           _("Invalid range in line %1$zu of PCI resource file of device '%2$s': size does not fit in 64 bits"),
                           lineno, devName);
            return -1;
        }

        if (!(flags & (VIR_PCI_EA_IORESOURCE_IO | VIR_PCI_EA_IORESOURCE_MEM))) {
            virReportError(VIR_ERR_INTERNAL_ERROR,
                           _("Resource in line %1$zu of PCI resource file of device '%2$s' is neither I/O nor memory (flags 0x%3$llx)"),
                           lineno, devName, flags);
            return -1;
        }

        bar = &ret[nret++];
        bar->idx = i;
        bar->size = end - start + 1;
        /* An unassigned BAR has a size but no address; the kernel prints
         * it starting at 0, but don't rely on that. */
        if (!(flags & VIR_PCI_EA_IORESOURCE_UNSET))
            bar->start = start;
        bar->io = !!(flags & VIR_PCI_EA_IORESOURCE_IO);
        bar->prefetchable = !bar->io && (flags & VIR_PCI_EA_IORESOURCE_PREFETCH);
        bar->mem64 = !bar->io && (flags & VIR_PCI_EA_IORESOURCE_MEM_64);

        VIR_DEBUG("device='%s' BAR%u start=0x%llx size=0x%llx io=%d prefetchable=%d mem64=%d",
                  devName, bar->idx, bar->start, bar->size,
                  bar->io, bar->prefetchable, bar->mem64);
    }

    if (nret > 0)
        *bars = g_steal_pointer(&ret);
    *nbars = nret;

    return 0;
}


/**
 * virPCIEAReadConfigReg:
 * @config: contents of a PCI configuration space
 * @offset: offset of a 32-bit register, at most the length of @config - 4
 *
 * Returns the value of the little-endian register at @offset.
 */
static uint32_t
virPCIEAReadConfigReg(const unsigned char *config,
                      size_t offset)
{
    uint32_t reg;

    memcpy(&reg, config + offset, sizeof(reg));
    return GUINT32_FROM_LE(reg);
}


/**
 * virPCIEAParseConfigBARs:
 * @devName: device name used in error messages, e.g. "0000:01:00.0"
 * @config: contents of the device's sysfs 'config' file
 * @len: number of bytes in @config
 * @bars: the BARs of the device, as returned by virPCIEAParseResource()
 * @nbars: number of elements in @bars
 *
 * Fills the busStart of each BAR in @bars with the base address programmed
 * in its BAR register(s) in the configuration space @config: the address
 * the device decodes on the PCI bus, which differs from the CPU address in
 * the sysfs 'resource' file when the host bridge translates addresses.
 * A 64-bit memory BAR takes the upper half of its address from the next
 * register. The type of each register (I/O, 32-bit or 64-bit memory) must
 * match the BAR in @bars.
 *
 * Returns 0 on success, -1 on error (reported).
 */
int
virPCIEAParseConfigBARs(const char *devName,
                        const unsigned char *config,
                        size_t len,
                        virPCIEABAR *bars,
                        size_t nbars)
{
    size_t i;

    if (len < VIR_PCI_EA_CONFIG_BARS_END) {
        virReportError(VIR_ERR_INTERNAL_ERROR,
                       _("Config space of host PCI device '%1$s' is too short to hold the BAR registers: %2$zu bytes, expected at least %3$d"),
                       devName, len, VIR_PCI_EA_CONFIG_BARS_END);
        return -1;
    }

    for (i = 0; i < nbars; i++) {
        virPCIEABAR *bar = &bars[i];
        size_t offset = VIR_PCI_EA_CONFIG_BAR0 + VIR_PCI_EA_CONFIG_BAR_LEN * bar->idx;
        uint32_t reg = virPCIEAReadConfigReg(config, offset);
        bool io = !!(reg & VIR_PCI_EA_BAR_SPACE_IO);
        bool mem64 = !io &&
            (reg & VIR_PCI_EA_BAR_MEM_TYPE_MASK) == VIR_PCI_EA_BAR_MEM_TYPE_64;

        if (io != bar->io || mem64 != bar->mem64) {
            virReportError(VIR_ERR_INTERNAL_ERROR,
                           _("Register of BAR%1$u of host PCI device '%2$s' (0x%3$08x) does not match the type of the BAR in its sysfs resource file"),
                           bar->idx, devName, reg);
            return -1;
        }

        if (io) {
            bar->busStart = reg & ~VIR_PCI_EA_BAR_IO_FLAGS;
        } else {
            bar->busStart = reg & ~VIR_PCI_EA_BAR_MEM_FLAGS;

            if (mem64) {
                if (bar->idx + 1 >= VIR_PCI_EA_NUM_BARS) {
                    virReportError(VIR_ERR_INTERNAL_ERROR,
                                   _("BAR%1$u of host PCI device '%2$s' is a 64-bit memory BAR but has no register for the upper half of its address"),
                                   bar->idx, devName);
                    return -1;
                }

                offset += VIR_PCI_EA_CONFIG_BAR_LEN;
                bar->busStart |= (unsigned long long) virPCIEAReadConfigReg(config, offset) << 32;
            }
        }

        VIR_DEBUG("device='%s' BAR%u busStart=0x%llx",
                  devName, bar->idx, bar->busStart);
    }

    return 0;
}


/* Whether @component of a sysfs path names a host bridge, "pciDDDD:BB",
 * and which */
static bool
virPCIEAIsRootBusComponent(const char *component,
                           unsigned int *domain,
                           unsigned int *bus)
{
    char *end;

    return STRPREFIX(component, "pci") &&
           g_ascii_isxdigit(component[3]) &&
           virStrToLong_ui(component + 3, &end, 16, domain) == 0 &&
           *end == ':' &&
           g_ascii_isxdigit(end[1]) &&
           virStrToLong_ui(end + 1, &end, 16, bus) == 0 &&
           *end == '\0' &&
           *bus <= 0xff;
}


/* The components of the canonical sysfs path @path below /sys/devices,
 * and in @root the index of the host bridge's (see
 * virPCIEAParseRootBus()), or NULL */
static char **
virPCIEASplitSysfsPath(const char *path,
                       size_t *root,
                       unsigned int *domain,
                       unsigned int *bus)
{
    const char *devices = strstr(path, "/sys/devices/");
    g_auto(GStrv) components = NULL;
    size_t i;

    if (!devices)
        return NULL;

    components = g_strsplit(devices + strlen("/sys/devices/"), "/", 0);
    for (i = 0; components[i]; i++) {
        if (virPCIEAIsRootBusComponent(components[i], domain, bus)) {
            *root = i;
            return g_steal_pointer(&components);
        }
    }

    return NULL;
}


/**
 * virPCIEAParseRootBus:
 * @devName: device name used in error messages, e.g. "0000:41:00.0"
 * @path: canonical sysfs path of the device
 * @domain: filled with the PCI domain of the host bridge
 * @bus: filled with the root bus number of the host bridge
 *
 * Finds the host bridge (root complex) a PCI device sits below: the first
 * "pciDDDD:BB" component after "/sys/devices/" in its canonical sysfs
 * path, for example "pci0000:40" in
 * "/sys/devices/pci0000:40/0000:40:01.0/0000:41:00.0".
 *
 * Returns 0 on success, -1 if @path names no host bridge (not reported,
 * logged at debug level).
 */
int
virPCIEAParseRootBus(const char *devName,
                     const char *path,
                     unsigned int *domain,
                     unsigned int *bus)
{
    g_auto(GStrv) components = NULL;
    size_t root;

    if (!(components = virPCIEASplitSysfsPath(path, &root, domain, bus))) {
        VIR_DEBUG("No host bridge of PCI device %s in its sysfs path %s",
                  devName, path);
        return -1;
    }

    return 0;
}


/* The value of the @n hexadecimal digits at @digits */
static unsigned int
virPCIEAHexValue(const char *digits,
                 size_t n)
{
    unsigned int value = 0;
    size_t i;

    for (i = 0; i < n; i++)
        value = value * 16 + g_ascii_xdigit_value(digits[i]);

    return value;
}


/* Parse @name as "DDDD:BB:SS.F", as the kernel names PCI devices (the
 * domain of four to eight digits), into @addr; a name of anything else
 * is no error, only false */
static bool
virPCIEAParseAddress(const char *name,
                     virPCIDeviceAddress *addr)
{
    size_t len = strlen(name);
    size_t i;

    if (len < strlen("DDDD:BB:SS.F") || len > strlen("DDDDDDDD:BB:SS.F") ||
        name[len - 8] != ':' || name[len - 5] != ':' || name[len - 2] != '.')
        return false;

    for (i = 0; i < len; i++) {
        if (i != len - 8 && i != len - 5 && i != len - 2 &&
            !g_ascii_isxdigit(name[i]))
            return false;
    }

    addr->domain = virPCIEAHexValue(name, len - 8);
    addr->bus = virPCIEAHexValue(name + len - 7, 2);
    addr->slot = virPCIEAHexValue(name + len - 4, 2);
    addr->function = virPCIEAHexValue(name + len - 1, 1);

    return addr->slot <= 0x1f && addr->function <= 7;
}


/* Capabilities in the configuration header (PCI Local Bus Specification,
 * 6.7) and the PCI Express capability (PCI Express Base Specification,
 * 7.5.3): the device/port type in bits 7:4 of its second word. */
#define VIR_PCI_EA_CONFIG_STATUS 0x06
#define VIR_PCI_EA_STATUS_CAP_LIST 0x10
#define VIR_PCI_EA_CONFIG_CAP_PTR 0x34
#define VIR_PCI_EA_CONFIG_HEADER_LEN 0x40
#define VIR_PCI_EA_CONFIG_STD_LEN 256
#define VIR_PCI_EA_CAP_ID_EXP 0x10
#define VIR_PCI_EA_EXP_FLAGS 2
#define VIR_PCI_EA_EXP_TYPE_ROOT_PORT 0x4
#define VIR_PCI_EA_EXP_TYPE_UPSTREAM 0x5
#define VIR_PCI_EA_EXP_TYPE_DOWNSTREAM 0x6

/* A capability list visits at most this many entries of 4 bytes or more
 * in the 192 bytes after the header; more is a loop. */
#define VIR_PCI_EA_MAX_CAPS ((VIR_PCI_EA_CONFIG_STD_LEN - VIR_PCI_EA_CONFIG_HEADER_LEN) / 4)


/**
 * virPCIEAParsePortType:
 * @config: contents of a bridge's sysfs 'config' file
 * @len: number of bytes in @config
 *
 * Finds the PCI Express capability in the capability list of @config and
 * returns the port type it gives. A process without CAP_SYS_ADMIN reads
 * only the first 64 bytes of 'config', which end before any capability.
 *
 * Returns the port type, VIR_PCI_EA_BRIDGE_OTHER if @config has no PCI
 * Express capability of a root, upstream or downstream port or too few
 * bytes to tell.
 */
virPCIEABridgeType
virPCIEAParsePortType(const unsigned char *config,
                      size_t len)
{
    size_t pos;
    size_t i;

    if (len < VIR_PCI_EA_CONFIG_HEADER_LEN ||
        !(config[VIR_PCI_EA_CONFIG_STATUS] & VIR_PCI_EA_STATUS_CAP_LIST))
        return VIR_PCI_EA_BRIDGE_OTHER;

    pos = config[VIR_PCI_EA_CONFIG_CAP_PTR] & ~3;

    for (i = 0; i < VIR_PCI_EA_MAX_CAPS; i++) {
        if (pos < VIR_PCI_EA_CONFIG_HEADER_LEN || pos + 4 > MIN(len, VIR_PCI_EA_CONFIG_STD_LEN))
            break;

        if (config[pos] == VIR_PCI_EA_CAP_ID_EXP) {
            switch ((config[pos + VIR_PCI_EA_EXP_FLAGS] >> 4) & 0xf) {
            case VIR_PCI_EA_EXP_TYPE_ROOT_PORT:
                return VIR_PCI_EA_BRIDGE_ROOT_PORT;
            case VIR_PCI_EA_EXP_TYPE_UPSTREAM:
                return VIR_PCI_EA_BRIDGE_UPSTREAM_PORT;
            case VIR_PCI_EA_EXP_TYPE_DOWNSTREAM:
                return VIR_PCI_EA_BRIDGE_DOWNSTREAM_PORT;
            default:
                return VIR_PCI_EA_BRIDGE_OTHER;
            }
        }

        pos = config[pos + 1] & ~3;
    }

    return VIR_PCI_EA_BRIDGE_OTHER;
}


/**
 * virPCIEAParseBridges:
 * @devName: device name, e.g. "0000:43:00.0"
 * @path: canonical sysfs path of the device
 * @bridges: filled with a newly allocated array of the bridges between
 *           the host bridge and the device, the topmost first, each of
 *           type VIR_PCI_EA_BRIDGE_OTHER
 * @nbridges: filled with the number of elements in @bridges
 *
 * For "/sys/devices/pci0000:40/0000:40:01.0/0000:41:00.0/0000:43:00.0"
 * the bridges are 0000:40:01.0 and 0000:41:00.0.
 *
 * Returns 0 on success, -1 if @path is not one of a PCI device below a
 * host bridge (not reported, logged at debug level).
 */
int
virPCIEAParseBridges(const char *devName,
                     const char *path,
                     virPCIEABridge **bridges,
                     size_t *nbridges)
{
    g_autofree virPCIEABridge *ret = NULL;
    g_auto(GStrv) components = NULL;
    unsigned int domain;
    unsigned int bus;
    size_t ncomponents;
    size_t i;

    *bridges = NULL;
    *nbridges = 0;

    if (!(components = virPCIEASplitSysfsPath(path, &i, &domain, &bus))) {
        VIR_DEBUG("No host bridge of PCI device %s in its sysfs path %s",
                  devName, path);
        return -1;
    }

    /* everything after the host bridge is a PCI device, the last one
     * @devName itself */
    ncomponents = g_strv_length(components);

    if (i + 1 >= ncomponents || STRNEQ(components[ncomponents - 1], devName)) {
        VIR_DEBUG("The sysfs path %s of PCI device %s does not end in it",
                  path, devName);
        return -1;
    }

    ret = g_new0(virPCIEABridge, ncomponents - i - 2);

    for (i++; i + 1 < ncomponents; i++) {
        virPCIEABridge *bridge = &ret[*nbridges];

        if (!virPCIEAParseAddress(components[i], &bridge->addr)) {
            VIR_DEBUG("Component %s of the sysfs path %s of PCI device %s is no PCI device",
                      components[i], path, devName);
            *nbridges = 0;
            return -1;
        }
        bridge->type = VIR_PCI_EA_BRIDGE_OTHER;
        (*nbridges)++;
    }

    *bridges = g_steal_pointer(&ret);
    return 0;
}


#ifdef __linux__

/**
 * virPCIEAReadSysfsFile:
 * @addr: host PCI address of the device
 * @devName: name of the device, e.g. "0000:01:00.0"
 * @file: name of a file in the device's sysfs directory
 * @maxlen: maximum number of bytes to read
 * @content: filled with the contents of the file, NUL terminated
 *
 * Reads a file describing the BAR layout of the host PCI device @devName.
 *
 * Returns the number of bytes read, -1 on error (reported).
 */
static int
virPCIEAReadSysfsFile(const virPCIDeviceAddress *addr,
                      const char *devName,
                      const char *file,
                      int maxlen,
                      char **content)
{
    g_autofree char *dir = NULL;
    g_autofree char *path = NULL;
    int len;

    if (virPCIDeviceAddressGetSysfsFile(addr, &dir) < 0)
        return -1;
    path = g_build_filename(dir, file, NULL);

    if ((len = virFileReadAllQuiet(path, maxlen, content)) < 0) {
        virReportError(VIR_ERR_SYSTEM_ERROR,
                       _("Cannot read the BAR layout of host PCI device '%1$s' from '%2$s': %3$s; check that the device exists on this host"),
                       devName, path, g_strerror(-len));
        return -1;
    }

    return len;
}


/**
 * virPCIEAGetBARs:
 * @addr: host PCI address of the device
 * @bars: filled with a newly allocated array of the implemented BARs
 * @nbars: filled with the number of elements in @bars
 *
 * Reads the BAR layout of the host PCI device at @addr from its sysfs
 * 'resource' file, see virPCIEAParseResource() for what is returned, and
 * the address programmed in each BAR register from its sysfs 'config'
 * file, see virPCIEAParseConfigBARs(). An unprivileged process can read
 * the first 64 bytes of 'config', which hold all BAR registers. The BAR
 * registers of an SR-IOV virtual function are read-only zero, so they are
 * not read for one and the busStart of its BARs is 0.
 *
 * Returns 0 on success, -1 on error (reported).
 */
int
virPCIEAGetBARs(const virPCIDeviceAddress *addr,
                virPCIEABAR **bars,
                size_t *nbars)
{
    g_autofree char *devName = virPCIDeviceAddressAsString(addr);
    g_autofree char *resource = NULL;
    g_autofree char *config = NULL;
    g_autofree virPCIEABAR *ret = NULL;
    g_autofree char *dir = NULL;
    size_t nret = 0;
    int configLen;

    *bars = NULL;
    *nbars = 0;

    if (virPCIEAReadSysfsFile(addr, devName, "resource",
                              VIR_PCI_EA_RESOURCE_MAX_LEN, &resource) < 0)
        return -1;

    if (virPCIEAParseResource(devName, resource, &ret, &nret) < 0)
        return -1;

    if (virPCIDeviceAddressGetSysfsFile(addr, &dir) < 0)
        return -1;

    /* the registers would only say that its BARs are 32-bit ones at 0 */
    if (virPCIIsVirtualFunction(dir) == 1) {
        *bars = g_steal_pointer(&ret);
        *nbars = nret;
        return 0;
    }

    if ((configLen = virPCIEAReadSysfsFile(addr, devName, "config",
                                           VIR_PCI_EA_CONFIG_MAX_LEN,
                                           &config)) < 0)
        return -1;

    if (virPCIEAParseConfigBARs(devName, (const unsigned char *) config,
                                configLen, ret, nret) < 0)
        return -1;

    *bars = g_steal_pointer(&ret);
    *nbars = nret;

    return 0;
}


/* The canonical sysfs path of the PCI device @addr, @devName, or NULL
 * if there is none (not reported, logged at debug level) */
static char *
virPCIEAGetSysfsPath(const virPCIDeviceAddress *addr,
                     const char *devName)
{
    g_autofree char *link = NULL;
    char *path;

    if (virPCIDeviceAddressGetSysfsFile(addr, &link) < 0)
        return NULL;

    if (!(path = virFileCanonicalizePath(link)))
        VIR_DEBUG("Cannot resolve the sysfs path %s of PCI device %s: %s",
                  link, devName, g_strerror(errno));

    return path;
}


/**
 * virPCIEAGetRootBus:
 * @addr: host PCI address of the device
 * @domain: filled with the PCI domain of the device's host bridge
 * @bus: filled with the root bus number of the device's host bridge
 *
 * Finds the host bridge (root complex) the device at @addr sits below,
 * however many bridges and switches are in between.  Callers use it to
 * place devices best-effort (the device may not exist on this host), so
 * not finding it is not an error.
 *
 * Returns 0 on success, -1 if the host bridge cannot be found (not
 * reported, the reason is logged at debug level).
 */
int
virPCIEAGetRootBus(const virPCIDeviceAddress *addr,
                   unsigned int *domain,
                   unsigned int *bus)
{
    g_autofree char *devName = virPCIDeviceAddressAsString(addr);
    g_autofree char *path = NULL;

    if (!(path = virPCIEAGetSysfsPath(addr, devName)))
        return -1;

    return virPCIEAParseRootBus(devName, path, domain, bus);
}


/* The host's PCI devices, each a link named by its address */
#define VIR_PCI_EA_SYSFS_DEVICES "/sys/bus/pci/devices"


/**
 * virPCIEAReadPortType:
 * @devName: name of a PCI device, e.g. "0000:40:01.0"
 *
 * Returns the port type in the PCI Express capability in the sysfs
 * 'config' file of @devName, VIR_PCI_EA_BRIDGE_OTHER if it cannot be read
 * (logged at debug level), see virPCIEAParsePortType().
 */
static virPCIEABridgeType
virPCIEAReadPortType(const char *devName)
{
    g_autofree char *path = g_strdup_printf(VIR_PCI_EA_SYSFS_DEVICES "/%s/config", devName);
    g_autofree char *config = NULL;
    int len;

    if ((len = virFileReadAllQuiet(path, VIR_PCI_EA_CONFIG_MAX_LEN, &config)) < 0) {
        VIR_DEBUG("Cannot read %s: %s", path, g_strerror(-len));
        return VIR_PCI_EA_BRIDGE_OTHER;
    }

    return virPCIEAParsePortType((const unsigned char *) config, len);
}


/**
 * virPCIEAGetBridges:
 * @addr: host PCI address of the device
 * @bridges: filled with a newly allocated array of the bridges between
 *           the device's host bridge and the device, the topmost first
 * @nbridges: filled with the number of elements in @bridges
 *
 * Reads the host PCI tree above the device at @addr from its canonical
 * sysfs path, and the type of each bridge from its PCI Express capability
 * in its sysfs 'config' file; a bridge whose type cannot be read is of
 * type VIR_PCI_EA_BRIDGE_OTHER. Like virPCIEAGetRootBus(), for callers
 * that place devices best-effort.
 *
 * Returns 0 on success, -1 if the device's path cannot be read (not
 * reported, the reason is logged at debug level).
 */
int
virPCIEAGetBridges(const virPCIDeviceAddress *addr,
                   virPCIEABridge **bridges,
                   size_t *nbridges)
{
    g_autofree char *devName = virPCIDeviceAddressAsString(addr);
    g_autofree char *path = NULL;
    size_t i;

    *bridges = NULL;
    *nbridges = 0;

    if (!(path = virPCIEAGetSysfsPath(addr, devName)) ||
        virPCIEAParseBridges(devName, path, bridges, nbridges) < 0)
        return -1;

    for (i = 0; i < *nbridges; i++) {
        virPCIEABridge *bridge = &(*bridges)[i];
        g_autofree char *bridgeName = virPCIDeviceAddressAsString(&bridge->addr);

        bridge->type = virPCIEAReadPortType(bridgeName);
        VIR_DEBUG("PCI device %s: bridge %04x:%02x:%02x.%x of type %d",
                  devName, bridge->addr.domain, bridge->addr.bus,
                  bridge->addr.slot, bridge->addr.function, bridge->type);
    }

    return 0;
}


/**
 * virPCIEAGetIDs:
 * @addr: host PCI address of the device
 * @vendor: filled with its vendor ID
 * @klass: filled with its class code (base class, subclass, interface)
 *
 * Returns 0 on success, -1 on error (reported).
 */
int
virPCIEAGetIDs(const virPCIDeviceAddress *addr,
               unsigned int *vendor,
               unsigned int *klass)
{
    g_autofree char *devName = virPCIDeviceAddressAsString(addr);
    g_autofree char *dir = NULL;
    const char *files[] = { "vendor", "class" };
    unsigned int *values[] = { vendor, klass };
    size_t i;

    if (virPCIDeviceAddressGetSysfsFile(addr, &dir) < 0)
        return -1;

    for (i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autofree char *path = g_build_filename(dir, files[i], NULL);
        g_autofree char *content = NULL;

        if (virFileReadAll(path, VIR_INT64_STR_BUFLEN, &content) < 0)
            return -1;

        virStringTrimOptionalNewline(content);
        if (virStrToLong_ui(content, NULL, 16, values[i]) < 0) {
            virReportError(VIR_ERR_INTERNAL_ERROR,
                           _("Invalid %1$s '%2$s' of PCI device '%3$s'"),
                           files[i], content, devName);
            return -1;
        }
    }

    return 0;
}


/**
 * virPCIEAGetNUMANode:
 * @addr: host PCI address of the device
 * @node: filled with the host NUMA node of the device, -1 if it has none
 *
 * A device without a 'numa_node' file (a kernel without NUMA support)
 * has no NUMA node.
 *
 * Returns 0 on success, -1 on error (reported).
 */
int
virPCIEAGetNUMANode(const virPCIDeviceAddress *addr,
                    int *node)
{
    g_autofree char *devName = virPCIDeviceAddressAsString(addr);
    g_autofree char *dir = NULL;
    int value;
    int rc;

    *node = -1;

    if (virPCIDeviceAddressGetSysfsFile(addr, &dir) < 0)
        return -1;

    rc = virFileReadValueInt(&value, "%s/numa_node", dir);
    if (rc == -2)
        return 0;
    if (rc < 0)
        return -1;

    if (value < -1) {
        virReportError(VIR_ERR_INTERNAL_ERROR,
                       _("Invalid NUMA node %1$d of PCI device '%2$s'"),
                       value, devName);
        return -1;
    }

    *node = value;
    return 0;
}

/* Base class of bridges (PCI Code and ID Assignment Specification) */
#define VIR_PCI_EA_CLASS_BRIDGE 0x06


/**
 * virPCIEAIsEndpoint:
 * @devName: name of a PCI device, e.g. "0000:01:00.0"
 *
 * Returns true unless the sysfs 'class' file of @devName says it is a
 * bridge; a device whose class cannot be read counts as an endpoint.
 */
static bool
virPCIEAIsEndpoint(const char *devName)
{
    g_autofree char *path = g_strdup_printf(VIR_PCI_EA_SYSFS_DEVICES "/%s/class", devName);
    g_autofree char *content = NULL;
    unsigned int klass;

    if (virFileReadAllQuiet(path, VIR_INT64_STR_BUFLEN, &content) < 0)
        return true;

    /* "0x060400\n" */
    virStringTrimOptionalNewline(content);
    if (virStrToLong_ui(content, NULL, 16, &klass) < 0)
        return true;

    return (klass >> 16) != VIR_PCI_EA_CLASS_BRIDGE;
}


/**
 * virPCIEACountEndpoints:
 * @dirPath: directory whose entries are named by PCI device
 * @rootBus: count only the devices below host bridge pci@domain:@bus
 * @domain: PCI domain of the host bridge
 * @bus: root bus number of the host bridge
 * @count: filled with the number of endpoints counted
 * @switches: filled with the number of upstream ports of PCIe switches
 *            counted
 *
 * Returns 0 on success, -1 if @dirPath cannot be read (not reported,
 * logged at debug level).
 */
static int
virPCIEACountEndpoints(const char *dirPath,
                       bool rootBus,
                       unsigned int domain,
                       unsigned int bus,
                       size_t *count,
                       size_t *switches)
{
    g_autoptr(DIR) dir = NULL;
    struct dirent *ent;
    int rc;

    *count = 0;
    *switches = 0;

    if (virDirOpenQuiet(&dir, dirPath) < 0) {
        VIR_DEBUG("Cannot list the PCI devices in %s: %s",
                  dirPath, g_strerror(errno));
        return -1;
    }

    while ((rc = virDirRead(dir, &ent, NULL)) > 0) {
        virPCIDeviceAddress addr = { 0 };
        unsigned int devDomain;
        unsigned int devBus;

        if (virPCIDeviceAddressParse(ent->d_name, &addr) < 0) {
            VIR_DEBUG("Ignoring %s in %s: not a PCI device", ent->d_name, dirPath);
            continue;
        }

        if (rootBus &&
            (virPCIEAGetRootBus(&addr, &devDomain, &devBus) < 0 ||
             devDomain != domain || devBus != bus))
            continue;

        if (virPCIEAIsEndpoint(ent->d_name))
            (*count)++;
        else if (virPCIEAReadPortType(ent->d_name) == VIR_PCI_EA_BRIDGE_UPSTREAM_PORT)
            (*switches)++;
    }

    if (rc < 0) {
        VIR_DEBUG("Cannot list the PCI devices in %s: %s",
                  dirPath, g_strerror(errno));
        return -1;
    }

    return 0;
}


/**
 * virPCIEACountRootBusEndpoints:
 * @domain: PCI domain of a host bridge
 * @bus: root bus number of the host bridge
 * @count: filled with the number of PCI functions below the host bridge
 *         pci@domain:@bus that are not bridges
 * @switches: filled with the number of PCIe switches below it
 *
 * Returns 0 on success, -1 if the host's PCI devices cannot be listed
 * (not reported, logged at debug level).
 */
int
virPCIEACountRootBusEndpoints(unsigned int domain,
                              unsigned int bus,
                              size_t *count,
                              size_t *switches)
{
    return virPCIEACountEndpoints(VIR_PCI_EA_SYSFS_DEVICES, true, domain, bus,
                                  count, switches);
}


/**
 * virPCIEACountIOMMUGroupEndpoints:
 * @group: host IOMMU group number
 * @count: filled with the number of PCI functions in @group that are not
 *         bridges
 * @switches: filled with the number of upstream ports of PCIe switches in
 *            @group; usually 0, as a switch's upstream port mostly has an
 *            IOMMU group of its own
 *
 * Returns 0 on success, -1 if the group's devices cannot be listed (not
 * reported, logged at debug level).
 */
int
virPCIEACountIOMMUGroupEndpoints(unsigned int group,
                                 size_t *count,
                                 size_t *switches)
{
    g_autofree char *dirPath = g_strdup_printf("/sys/kernel/iommu_groups/%u/devices", group);

    return virPCIEACountEndpoints(dirPath, false, 0, 0, count, switches);
}

#else /* !__linux__ */

int
virPCIEAGetBARs(const virPCIDeviceAddress *addr G_GNUC_UNUSED,
                virPCIEABAR **bars,
                size_t *nbars)
{
    *bars = NULL;
    *nbars = 0;

    virReportError(VIR_ERR_OPERATION_UNSUPPORTED, "%s",
                   _("Reading the host PCI BAR layout is not supported on this platform"));
    return -1;
}


int
virPCIEAGetRootBus(const virPCIDeviceAddress *addr G_GNUC_UNUSED,
                   unsigned int *domain G_GNUC_UNUSED,
                   unsigned int *bus G_GNUC_UNUSED)
{
    VIR_DEBUG("Finding the host bridge of a PCI device is not supported on this platform");
    return -1;
}


int
virPCIEAGetBridges(const virPCIDeviceAddress *addr G_GNUC_UNUSED,
                   virPCIEABridge **bridges,
                   size_t *nbridges)
{
    *bridges = NULL;
    *nbridges = 0;
    return -1;
}


int
virPCIEAGetIDs(const virPCIDeviceAddress *addr G_GNUC_UNUSED,
               unsigned int *vendor,
               unsigned int *klass)
{
    *vendor = 0;
    *klass = 0;
    virReportError(VIR_ERR_OPERATION_UNSUPPORTED, "%s",
                   _("Reading the IDs of host PCI devices is not supported on this platform"));
    return -1;
}


int
virPCIEAGetNUMANode(const virPCIDeviceAddress *addr G_GNUC_UNUSED,
                    int *node)
{
    *node = -1;
    return 0;
}


int
virPCIEACountRootBusEndpoints(unsigned int domain G_GNUC_UNUSED,
                              unsigned int bus G_GNUC_UNUSED,
                              size_t *count,
                              size_t *switches)
{
    *count = 0;
    *switches = 0;
    VIR_DEBUG("Listing the host's PCI devices is not supported on this platform");
    return -1;
}


int
virPCIEACountIOMMUGroupEndpoints(unsigned int group G_GNUC_UNUSED,
                                 size_t *count,
                                 size_t *switches)
{
    *count = 0;
    *switches = 0;
    VIR_DEBUG("Listing the host's PCI devices is not supported on this platform");
    return -1;
}

#endif /* !__linux__ */
