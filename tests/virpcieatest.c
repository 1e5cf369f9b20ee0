/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <config.h>
#include "internal.h"

#include "testutils.h"

#ifdef __linux__

# define LIBVIRT_VIRPCIEAPRIV_H_ALLOW

# include "virpcieapriv.h"
# include "virerror.h"

# define VIR_FROM_THIS VIR_FROM_NONE

# define ZERO_LINE "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
# define ZERO_LINES_5 ZERO_LINE ZERO_LINE ZERO_LINE ZERO_LINE ZERO_LINE
# define ZERO_LINES_6 ZERO_LINES_5 ZERO_LINE

# define TEST_DEVNAME "0000:ee:00.0"

struct testParseData {
    const char *content;
    const virPCIEABAR *bars;    /* expected BARs */
    size_t nbars;
    const char *error;          /* expected part of the error message */
};

struct testGetBARsData {
    virPCIDeviceAddress addr;
    const virPCIEABAR *bars;    /* expected BARs */
    size_t nbars;
    const char *error;          /* expected part of the error message */
};


static int
testCompareBARs(const char *devName,
                const virPCIEABAR *bars,
                size_t nbars,
                const virPCIEABAR *expect,
                size_t nexpect)
{
    size_t i;

    if (nbars != nexpect) {
        VIR_TEST_DEBUG("%s: got %zu BARs, expected %zu", devName, nbars, nexpect);
        return -1;
    }

    if ((nbars == 0) != !bars) {
        VIR_TEST_DEBUG("%s: BAR array must be NULL if and only if there are no BARs",
                       devName);
        return -1;
    }

    for (i = 0; i < nbars; i++) {
        const virPCIEABAR *bar = &bars[i];
        const virPCIEABAR *exp = &expect[i];

        if (bar->idx != exp->idx ||
            bar->start != exp->start ||
            bar->busStart != exp->busStart ||
            bar->size != exp->size ||
            bar->io != exp->io ||
            bar->prefetchable != exp->prefetchable ||
            bar->mem64 != exp->mem64) {
            VIR_TEST_DEBUG("%s: BAR entry %zu mismatch:", devName, i);
            VIR_TEST_DEBUG("  got      index=%u start=0x%llx busStart=0x%llx size=0x%llx io=%d prefetchable=%d mem64=%d",
                           bar->idx, bar->start, bar->busStart, bar->size,
                           bar->io, bar->prefetchable, bar->mem64);
            VIR_TEST_DEBUG("  expected index=%u start=0x%llx busStart=0x%llx size=0x%llx io=%d prefetchable=%d mem64=%d",
                           exp->idx, exp->start, exp->busStart, exp->size,
                           exp->io, exp->prefetchable, exp->mem64);
            return -1;
        }
    }

    return 0;
}


static int
testParse(const void *opaque)
{
    const struct testParseData *data = opaque;
    g_autofree virPCIEABAR *bars = NULL;
    size_t nbars = 0;

    if (virPCIEAParseResource(TEST_DEVNAME, data->content, &bars, &nbars) < 0)
        return -1;

    return testCompareBARs(TEST_DEVNAME, bars, nbars, data->bars, data->nbars);
}


static int
testParseFail(const void *opaque)
{
    const struct testParseData *data = opaque;
    virPCIEABAR dummy = { 0 };
    virPCIEABAR *bars = &dummy; /* the outputs must be cleared on failure */
    size_t nbars = 42;
    const char *msg;
    int rc;

    rc = virPCIEAParseResource(TEST_DEVNAME, data->content, &bars, &nbars);

    if (bars != &dummy)
        g_free(bars);

    if (rc == 0) {
        VIR_TEST_DEBUG("parsing succeeded unexpectedly");
        return -1;
    }

    if (bars || nbars != 0) {
        VIR_TEST_DEBUG("outputs not cleared on failure: bars=%p nbars=%zu",
                       (void *) bars, nbars);
        return -1;
    }

    if (virGetLastErrorCode() != VIR_ERR_INTERNAL_ERROR) {
        VIR_TEST_DEBUG("unexpected error code %d", virGetLastErrorCode());
        return -1;
    }

    msg = virGetLastErrorMessage();
    if (!strstr(msg, "'" TEST_DEVNAME "'") || !strstr(msg, data->error)) {
        VIR_TEST_DEBUG("error message '%s' does not name the device or lacks '%s'",
                       msg, data->error);
        return -1;
    }

    VIR_TEST_DEBUG("expected error: %s", msg);
    virResetLastError();
    return 0;
}


static int
testGetBARs(const void *opaque)
{
    const struct testGetBARsData *data = opaque;
    g_autofree char *devName = virPCIDeviceAddressAsString(&data->addr);
    g_autofree virPCIEABAR *bars = NULL;
    size_t nbars = 0;
    int rc;

    rc = virPCIEAGetBARs(&data->addr, &bars, &nbars);

    if (data->error) {
        g_autofree char *quoted = g_strdup_printf("'%s'", devName);
        const char *msg;

        if (rc == 0) {
            VIR_TEST_DEBUG("%s: reading BARs succeeded unexpectedly", devName);
            return -1;
        }

        if (bars || nbars != 0) {
            VIR_TEST_DEBUG("%s: outputs not cleared on failure", devName);
            return -1;
        }

        if (virGetLastErrorCode() == VIR_ERR_OK) {
            VIR_TEST_DEBUG("%s: failure without a reported error", devName);
            return -1;
        }

        msg = virGetLastErrorMessage();
        if (!strstr(msg, quoted) || !strstr(msg, data->error)) {
            VIR_TEST_DEBUG("%s: error message '%s' does not name the device or lacks '%s'",
                           devName, msg, data->error);
            return -1;
        }

        VIR_TEST_DEBUG("expected error: %s", msg);
        virResetLastError();
        return 0;
    }

    if (rc < 0)
        return -1;

    return testCompareBARs(devName, bars, nbars, data->bars, data->nbars);
}


/* x86 GPU: 32-bit BAR0, 64-bit prefetchable BAR1 and BAR3, I/O BAR5,
 * followed by the expansion ROM and six SR-IOV BAR lines. */
static const char gpuResource[] =
    "0x00000000fa000000 0x00000000faffffff 0x0000000000040200\n"
    "0x0000023800000000 0x0000023fffffffff 0x000000000014220c\n"
    ZERO_LINE
    "0x0000024000000000 0x0000024001ffffff 0x000000000014220c\n"
    ZERO_LINE
    "0x0000000000003000 0x000000000000307f 0x0000000000040101\n"
    "0x00000000fb000000 0x00000000fb07ffff 0x0000000000046200\n"
    ZERO_LINES_6;

static const virPCIEABAR gpuBARs[] = {
    { .idx = 0, .start = 0xfa000000ULL, .size = 0x1000000ULL },
    { .idx = 1, .start = 0x23800000000ULL, .size = 0x800000000ULL,
      .prefetchable = true, .mem64 = true },
    { .idx = 3, .start = 0x24000000000ULL, .size = 0x2000000ULL,
      .prefetchable = true, .mem64 = true },
    { .idx = 5, .start = 0x3000ULL, .size = 0x80ULL, .io = true },
};

/* BAR4 has a size but no address: the kernel could not assign it. */
static const virPCIEABAR graceGPUBARs[] = {
    { .idx = 0, .start = 0x661002000000ULL, .size = 0x1000000ULL,
      .mem64 = true },
    { .idx = 2, .start = 0x661000000000ULL, .size = 0x2000000ULL,
      .prefetchable = true, .mem64 = true },
    { .idx = 4, .start = 0, .size = 0x2000000000ULL,
      .prefetchable = true, .mem64 = true },
};

/* Kernel without CONFIG_PCI_IOV: BAR0-5 and the ROM only. */
static const char sevenLinesResource[] =
    "0x0000004000000000 0x00000040000fffff 0x0000000000140204\n"
    ZERO_LINE
    "0x000000000000e000 0x000000000000e01f 0x0000000000040101\n"
    ZERO_LINE
    ZERO_LINE
    ZERO_LINE
    "0x00000000fe000000 0x00000000fe00ffff 0x0000000000046200\n";

static const virPCIEABAR sevenLinesBARs[] = {
    { .idx = 0, .start = 0x4000000000ULL, .size = 0x100000ULL, .mem64 = true },
    { .idx = 2, .start = 0xe000ULL, .size = 0x20ULL, .io = true },
};

/* Six lines, the last one (BAR5) implemented and not newline terminated. */
static const char noNewlineResource[] =
    ZERO_LINES_5
    "0x00000000fd000000 0x00000000fd003fff 0x0000000000040200";

static const virPCIEABAR noNewlineBARs[] = {
    { .idx = 5, .start = 0xfd000000ULL, .size = 0x4000ULL },
};

static const char allZeroResource[] =
    ZERO_LINES_6 ZERO_LINE ZERO_LINES_6;

/* A 32-bit and a 64-bit BAR without an address (IORESOURCE_UNSET). */
static const char unsetResource[] =
    "0x0000000000000000 0x00000000000fffff 0x0000000020040200\n"
    ZERO_LINE
    "0x0000000000000000 0x00000003ffffffff 0x000000002014220c\n"
    ZERO_LINE
    ZERO_LINE
    ZERO_LINE
    ZERO_LINE;

static const virPCIEABAR unsetBARs[] = {
    { .idx = 0, .start = 0, .size = 0x100000ULL },
    { .idx = 2, .start = 0, .size = 0x400000000ULL,
      .prefetchable = true, .mem64 = true },
};

static const char pref32Resource[] =
    "0x00000000e0000000 0x00000000efffffff 0x0000000000042208\n"
    ZERO_LINES_5
    ZERO_LINE;

static const virPCIEABAR pref32BARs[] = {
    { .idx = 0, .start = 0xe0000000ULL, .size = 0x10000000ULL,
      .prefetchable = true },
};

/* Whatever follows BAR5 is not looked at. */
static const char trailingJunkResource[] =
    ZERO_LINES_5
    "0x0000000000003000 0x000000000000307f 0x0000000000040101\n"
    "garbage\n"
    "\n";

static const virPCIEABAR trailingJunkBARs[] = {
    { .idx = 5, .start = 0x3000ULL, .size = 0x80ULL, .io = true },
};

static const char binaryJunkResource[] =
    "\x7f\x45\x4c\x46\x02\x01\x01 \x80\xff\xfe \x01\x02\x03\n"
    "\xde\xad \xbe\xef \xca\xfe\n"
    "\xde\xad \xbe\xef \xca\xfe\n"
    "\xde\xad \xbe\xef \xca\xfe\n"
    "\xde\xad \xbe\xef \xca\xfe\n"
    "\xde\xad \xbe\xef \xca\xfe\n"
    "\xde\xad \xbe\xef \xca\xfe\n";


/* A standard configuration header with the given BAR registers, @len
 * bytes of it, the rest of its 4 KiB zero. */
struct testConfigData {
    uint32_t regs[VIR_PCI_EA_NUM_BARS];
    size_t len;
    const virPCIEABAR *bars;    /* BARs as read from 'resource' */
    const virPCIEABAR *expect;  /* the same with busStart filled in */
    size_t nbars;
    const char *error;          /* expected part of the error message */
};


static int
testParseConfig(const void *opaque)
{
    const struct testConfigData *data = opaque;
    unsigned char config[4096] = { 0 };
    g_autofree virPCIEABAR *bars = NULL;
    size_t i;
    int rc;

    /* vendor and device ID, class, header type 0, BAR registers */
    config[0x00] = 0xde;
    config[0x01] = 0x10;
    config[0x02] = 0x30;
    config[0x03] = 0x23;
    config[0x0b] = 0x03;
    for (i = 0; i < VIR_PCI_EA_NUM_BARS; i++) {
        uint32_t reg = GUINT32_TO_LE(data->regs[i]);

        memcpy(config + 0x10 + 4 * i, &reg, sizeof(reg));
    }

    bars = g_new0(virPCIEABAR, MAX(data->nbars, 1));
    if (data->nbars > 0)
        memcpy(bars, data->bars, sizeof(*bars) * data->nbars);

    rc = virPCIEAParseConfigBARs(TEST_DEVNAME, config, data->len,
                                 bars, data->nbars);

    if (data->error) {
        const char *msg = virGetLastErrorMessage();

        if (rc == 0) {
            VIR_TEST_DEBUG("parsing config space succeeded unexpectedly");
            return -1;
        }
        if (!strstr(msg, "'" TEST_DEVNAME "'") || !strstr(msg, data->error)) {
            VIR_TEST_DEBUG("error message '%s' does not name the device or lacks '%s'",
                           msg, data->error);
            return -1;
        }
        VIR_TEST_DEBUG("expected error: %s", msg);
        virResetLastError();
        return 0;
    }

    if (rc < 0)
        return -1;

    return testCompareBARs(TEST_DEVNAME, bars, data->nbars,
                           data->expect, data->nbars);
}


/* gpuResource: the bus addresses in the registers are the CPU addresses */
static const struct testConfigData gpuConfig = {
    .regs = { 0xfa000000, 0x0000000c, 0x00000238, 0x0000000c, 0x00000240,
              0x00003001 },
    .len = 4096,
    .bars = gpuBARs,
    .expect = (const virPCIEABAR[]) {
        { .idx = 0, .start = 0xfa000000ULL, .busStart = 0xfa000000ULL,
          .size = 0x1000000ULL },
        { .idx = 1, .start = 0x23800000000ULL, .busStart = 0x23800000000ULL,
          .size = 0x800000000ULL, .prefetchable = true, .mem64 = true },
        { .idx = 3, .start = 0x24000000000ULL, .busStart = 0x24000000000ULL,
          .size = 0x2000000ULL, .prefetchable = true, .mem64 = true },
        { .idx = 5, .start = 0x3000ULL, .busStart = 0x3000ULL, .size = 0x80ULL,
          .io = true },
    },
    .nbars = G_N_ELEMENTS(gpuBARs),
};

/* graceGPUBARs: 64-bit non-prefetchable BAR0 with the flags in its low
 * bits, unassigned BAR4 reading 0 */
static const struct testConfigData graceGPUConfig = {
    .regs = { 0x02000004, 0x00006610, 0x0000000c, 0x00006610, 0x0000000c, 0 },
    .len = 256,
    .bars = graceGPUBARs,
    .expect = (const virPCIEABAR[]) {
        { .idx = 0, .start = 0x661002000000ULL, .busStart = 0x661002000000ULL,
          .size = 0x1000000ULL, .mem64 = true },
        { .idx = 2, .start = 0x661000000000ULL, .busStart = 0x661000000000ULL,
          .size = 0x2000000ULL, .prefetchable = true, .mem64 = true },
        { .idx = 4, .start = 0, .busStart = 0, .size = 0x2000000000ULL,
          .prefetchable = true, .mem64 = true },
    },
    .nbars = G_N_ELEMENTS(graceGPUBARs),
};

/* 32-bit prefetchable BAR, the 64 bytes an unprivileged process may read */
static const struct testConfigData pref32Config = {
    .regs = { 0xe0000008 },
    .len = 64,
    .bars = pref32BARs,
    .expect = (const virPCIEABAR[]) {
        { .idx = 0, .start = 0xe0000000ULL, .busStart = 0xe0000000ULL,
          .size = 0x10000000ULL, .prefetchable = true },
    },
    .nbars = G_N_ELEMENTS(pref32BARs),
};

/* 64-bit BAR0 and I/O BAR2 with the reserved bit 1 set; only the BAR
 * registers present */
static const struct testConfigData ioConfig = {
    .regs = { 0x00000004, 0x00000040, 0x0000e003 },
    .len = 0x28,
    .bars = sevenLinesBARs,
    .expect = (const virPCIEABAR[]) {
        { .idx = 0, .start = 0x4000000000ULL, .busStart = 0x4000000000ULL,
          .size = 0x100000ULL, .mem64 = true },
        { .idx = 2, .start = 0xe000ULL, .busStart = 0xe000ULL, .size = 0x20ULL,
          .io = true },
    },
    .nbars = G_N_ELEMENTS(sevenLinesBARs),
};

/* A host bridge translating addresses: the register holds the bus
 * address, which differs from the CPU address in 'resource'. */
static const virPCIEABAR translatedBARs[] = {
    { .idx = 0, .start = 0x400000000000ULL, .size = 0x2000000ULL,
      .prefetchable = true, .mem64 = true },
};

static const struct testConfigData translatedConfig = {
    .regs = { 0xe000000c, 0 },
    .len = 4096,
    .bars = translatedBARs,
    .expect = (const virPCIEABAR[]) {
        { .idx = 0, .start = 0x400000000000ULL, .busStart = 0xe0000000ULL,
          .size = 0x2000000ULL, .prefetchable = true, .mem64 = true },
    },
    .nbars = G_N_ELEMENTS(translatedBARs),
};

/* Upper register with the top bit set: no sign extension */
static const virPCIEABAR highBARs[] = {
    { .idx = 4, .start = 0x8000000100000000ULL, .size = 0x100000000ULL,
      .prefetchable = true, .mem64 = true },
};

static const struct testConfigData highConfig = {
    .regs = { 0, 0, 0, 0, 0x0000000c, 0x80000001 },
    .len = 4096,
    .bars = highBARs,
    .expect = (const virPCIEABAR[]) {
        { .idx = 4, .start = 0x8000000100000000ULL,
          .busStart = 0x8000000100000000ULL, .size = 0x100000000ULL,
          .prefetchable = true, .mem64 = true },
    },
    .nbars = G_N_ELEMENTS(highBARs),
};

static const virPCIEABAR mem32BAR0[] = {
    { .idx = 0, .start = 0xfa000000ULL, .size = 0x1000000ULL },
};

static const virPCIEABAR mem64BAR5[] = {
    { .idx = 5, .start = 0x4000000000ULL, .size = 0x100000ULL, .mem64 = true },
};


struct testRootBusData {
    const char *path;
    unsigned int domain;        /* expected host bridge */
    unsigned int bus;
    bool fail;
};


static int
testParseRootBus(const void *opaque)
{
    const struct testRootBusData *data = opaque;
    unsigned int domain = 0;
    unsigned int bus = 0;
    int rc = virPCIEAParseRootBus(TEST_DEVNAME, data->path, &domain, &bus);

    if (data->fail) {
        if (rc == 0) {
            VIR_TEST_DEBUG("found host bridge %04x:%02x unexpectedly", domain, bus);
            return -1;
        }
        /* placement looks best-effort: not finding it is no error */
        if (virGetLastErrorCode() != VIR_ERR_OK) {
            VIR_TEST_DEBUG("unexpected error '%s'", virGetLastErrorMessage());
            virResetLastError();
            return -1;
        }
        return 0;
    }

    if (rc < 0)
        return -1;

    if (domain != data->domain || bus != data->bus) {
        VIR_TEST_DEBUG("got host bridge %04x:%02x, expected %04x:%02x",
                       domain, bus, data->domain, data->bus);
        return -1;
    }

    return 0;
}


struct testHostFactsData {
    virPCIDeviceAddress addr;
    bool hasRootBus;            /* whether virPCIEAGetRootBus() succeeds */
    unsigned int domain;        /* expected host bridge */
    unsigned int bus;
    int numaNode;               /* expected NUMA node */
};


static int
testHostFacts(const void *opaque)
{
    const struct testHostFactsData *data = opaque;
    unsigned int domain = 0;
    unsigned int bus = 0;
    int node = -2;

    if (virPCIEAGetRootBus(&data->addr, &domain, &bus) < 0) {
        if (data->hasRootBus)
            return -1;
        /* not found is no error: nothing reported */
        if (virGetLastErrorCode() != VIR_ERR_OK) {
            VIR_TEST_DEBUG("unexpected error '%s'", virGetLastErrorMessage());
            virResetLastError();
            return -1;
        }
    } else if (!data->hasRootBus ||
               domain != data->domain || bus != data->bus) {
        VIR_TEST_DEBUG("got host bridge %04x:%02x, expected %s%04x:%02x",
                       domain, bus, data->hasRootBus ? "" : "none, not ",
                       data->domain, data->bus);
        return -1;
    }

    if (virPCIEAGetNUMANode(&data->addr, &node) < 0)
        return -1;

    if (node != data->numaNode) {
        VIR_TEST_DEBUG("got NUMA node %d, expected %d", node, data->numaNode);
        return -1;
    }

    return 0;
}


struct testBridgesData {
    const char *path;           /* for virPCIEAParseBridges(), else... */
    virPCIDeviceAddress addr;   /* ...for virPCIEAGetBridges() */
    const char *expect;         /* "DDDD:BB:SS.F/type ...", NULL: fails */
};


static const char *
testBridgeTypeToString(virPCIEABridgeType type)
{
    switch (type) {
    case VIR_PCI_EA_BRIDGE_ROOT_PORT:
        return "root";
    case VIR_PCI_EA_BRIDGE_UPSTREAM_PORT:
        return "upstream";
    case VIR_PCI_EA_BRIDGE_DOWNSTREAM_PORT:
        return "downstream";
    case VIR_PCI_EA_BRIDGE_OTHER:
        break;
    }
    return "other";
}


static int
testBridges(const void *opaque)
{
    const struct testBridgesData *data = opaque;
    g_autofree virPCIEABridge *bridges = NULL;
    g_auto(virBuffer) buf = VIR_BUFFER_INITIALIZER;
    g_autofree char *got = NULL;
    size_t nbridges = 42;
    size_t i;
    int rc;

    if (data->path)
        rc = virPCIEAParseBridges(TEST_DEVNAME, data->path, &bridges, &nbridges);
    else
        rc = virPCIEAGetBridges(&data->addr, &bridges, &nbridges);

    /* placement reads the host tree best-effort: nothing is reported */
    if (virGetLastErrorCode() != VIR_ERR_OK) {
        VIR_TEST_DEBUG("unexpected error '%s'", virGetLastErrorMessage());
        virResetLastError();
        return -1;
    }

    if (rc < 0) {
        if (data->expect) {
            VIR_TEST_DEBUG("failed, expected '%s'", data->expect);
            return -1;
        }
        if (bridges || nbridges != 0) {
            VIR_TEST_DEBUG("outputs not cleared on failure");
            return -1;
        }
        return 0;
    }

    for (i = 0; i < nbridges; i++) {
        g_autofree char *addr = virPCIDeviceAddressAsString(&bridges[i].addr);

        virBufferAsprintf(&buf, "%s/%s ", addr,
                          testBridgeTypeToString(bridges[i].type));
    }
    virBufferTrim(&buf, " ");
    got = virBufferContentAndReset(&buf);

    if (STRNEQ_NULLABLE(got, data->expect) &&
        !(data->expect && !*data->expect && !got)) {
        VIR_TEST_DEBUG("got '%s', expected '%s'", NULLSTR(got), NULLSTR(data->expect));
        return -1;
    }

    return 0;
}


struct testPortTypeData {
    int capType;                /* port type in the PCI Express capability,
                                 * -1 for none */
    size_t len;                 /* bytes of config space */
    bool loop;                  /* a capability list that loops */
    virPCIEABridgeType expect;
};


static int
testPortType(const void *opaque)
{
    const struct testPortTypeData *data = opaque;
    unsigned char config[256] = { 0 };
    virPCIEABridgeType got;

    /* a power management capability at 0x40, then PCI Express at 0x60 */
    config[0x06] = 0x10;
    config[0x34] = 0x40;
    config[0x40] = 0x01;
    config[0x41] = data->loop ? 0x40 : 0x60;
    if (data->capType >= 0) {
        config[0x60] = 0x10;
        config[0x62] = 0x02 | (data->capType << 4);
    }

    got = virPCIEAParsePortType(config, data->len);
    if (got != data->expect) {
        VIR_TEST_DEBUG("got port type %s, expected %s",
                       testBridgeTypeToString(got),
                       testBridgeTypeToString(data->expect));
        return -1;
    }

    return 0;
}


struct testCountData {
    bool rootBus;               /* count below a host bridge, else in a group */
    unsigned int domain;        /* host bridge */
    unsigned int bus;
    unsigned int group;         /* IOMMU group */
    int count;                  /* expected endpoints, -1 if not listable */
    int switches;               /* expected upstream ports of switches */
};


static int
testCountEndpoints(const void *opaque)
{
    const struct testCountData *data = opaque;
    size_t count = 0;
    size_t switches = 0;
    int rc;

    if (data->rootBus)
        rc = virPCIEACountRootBusEndpoints(data->domain, data->bus, &count, &switches);
    else
        rc = virPCIEACountIOMMUGroupEndpoints(data->group, &count, &switches);

    /* counting is best-effort: nothing is ever reported */
    if (virGetLastErrorCode() != VIR_ERR_OK) {
        VIR_TEST_DEBUG("unexpected error '%s'", virGetLastErrorMessage());
        virResetLastError();
        return -1;
    }

    if (rc < 0) {
        if (data->count >= 0) {
            VIR_TEST_DEBUG("cannot count, expected %d", data->count);
            return -1;
        }
        return 0;
    }

    if ((int)count != data->count || (int)switches != data->switches) {
        VIR_TEST_DEBUG("counted %zu endpoints and %zu switches, expected %d and %d",
                       count, switches, data->count, data->switches);
        return -1;
    }

    return 0;
}


/* The BARs of the fixtures in virpcimock.c, as read through it */
static const virPCIEABAR gpuHostBARs[] = {
    { .idx = 0, .start = 0xfa000000ULL, .busStart = 0xfa000000ULL,
      .size = 0x1000000ULL },
    { .idx = 1, .start = 0x23800000000ULL, .busStart = 0x23800000000ULL,
      .size = 0x800000000ULL, .prefetchable = true, .mem64 = true },
    { .idx = 3, .start = 0x24000000000ULL, .busStart = 0x24000000000ULL,
      .size = 0x2000000ULL, .prefetchable = true, .mem64 = true },
    { .idx = 5, .start = 0x3000ULL, .busStart = 0x3000ULL, .size = 0x80ULL,
      .io = true },
};

static const virPCIEABAR graceGPUHostBARs[] = {
    { .idx = 0, .start = 0x661002000000ULL, .busStart = 0x661002000000ULL,
      .size = 0x1000000ULL, .mem64 = true },
    { .idx = 2, .start = 0x661000000000ULL, .busStart = 0x661000000000ULL,
      .size = 0x2000000ULL, .prefetchable = true, .mem64 = true },
};

/* a BAR the host kernel did not assign: its size, no address */
static const virPCIEABAR unassignedHostBARs[] = {
    { .idx = 0, .start = 0x410008000000ULL, .busStart = 0x410008000000ULL,
      .size = 0x2000000ULL, .prefetchable = true, .mem64 = true },
    { .idx = 2, .start = 0, .busStart = 0, .size = 0x4000000ULL,
      .prefetchable = true, .mem64 = true },
};

static const virPCIEABAR switchGPU1BARs[] = {
    { .idx = 0, .start = 0xa0000000ULL, .busStart = 0xa0000000ULL,
      .size = 0x1000000ULL },
    { .idx = 1, .start = 0x280000000000ULL, .busStart = 0x280000000000ULL,
      .size = 0x800000000ULL, .prefetchable = true, .mem64 = true },
    { .idx = 3, .start = 0x280800000000ULL, .busStart = 0x280800000000ULL,
      .size = 0x2000000ULL, .prefetchable = true, .mem64 = true },
};

static const virPCIEABAR switchGPU2BARs[] = {
    { .idx = 0, .start = 0xa2000000ULL, .busStart = 0xa2000000ULL,
      .size = 0x1000000ULL },
    { .idx = 1, .start = 0x281000000000ULL, .busStart = 0x281000000000ULL,
      .size = 0x800000000ULL, .prefetchable = true, .mem64 = true },
    { .idx = 3, .start = 0x281800000000ULL, .busStart = 0x281800000000ULL,
      .size = 0x2000000ULL, .prefetchable = true, .mem64 = true },
};

static const virPCIEABAR switchNICBARs[] = {
    { .idx = 0, .start = 0x282000000000ULL, .busStart = 0x282000000000ULL,
      .size = 0x2000000ULL, .prefetchable = true, .mem64 = true },
};

/* BAR1 inside the AMD HyperTransport hole 0xfd00000000 - 0x10000000000 */
static const virPCIEABAR htHoleBARs[] = {
    { .idx = 0, .start = 0xb0000000ULL, .busStart = 0xb0000000ULL,
      .size = 0x1000000ULL },
    { .idx = 1, .start = 0xfd00000000ULL, .busStart = 0xfd00000000ULL,
      .size = 0x40000000ULL, .prefetchable = true, .mem64 = true },
};

static const virPCIEABAR translatedHostBARs[] = {
    { .idx = 0, .start = 0x400000000000ULL, .busStart = 0xe0000000ULL,
      .size = 0x2000000ULL, .prefetchable = true, .mem64 = true },
};

static const virPCIEABAR noIommuGroupBARs[] = {
    { .idx = 0, .start = 0x410000000000ULL, .busStart = 0x410000000000ULL,
      .size = 0x2000000ULL, .prefetchable = true, .mem64 = true },
};


static int
testIOMMUGroups(const void *opaque G_GNUC_UNUSED)
{
    virPCIDeviceAddress switchGPU = { .domain = 0, .bus = 0xc3 };
    virPCIDeviceAddress switchNIC = { .domain = 0, .bus = 0xc5 };
    virPCIDeviceAddress noGroup = { .domain = 0, .bus = 0xe5 };
    int group;

    if ((group = virPCIDeviceAddressGetIOMMUGroupNum(&switchGPU)) != 60 ||
        (group = virPCIDeviceAddressGetIOMMUGroupNum(&switchNIC)) != 60) {
        VIR_TEST_DEBUG("got IOMMU group %d, expected 60", group);
        return -1;
    }

    if ((group = virPCIDeviceAddressGetIOMMUGroupNum(&noGroup)) != -2) {
        VIR_TEST_DEBUG("got IOMMU group %d for a device without one", group);
        return -1;
    }

    return 0;
}


static int
mymain(void)
{
    int ret = 0;

# define DO_TEST_PARSE(name, res, expect) \
    do { \
        struct testParseData data = { \
            .content = res, .bars = expect, .nbars = G_N_ELEMENTS(expect), \
        }; \
        if (virTestRun("parse valid: " name, testParse, &data) < 0) \
            ret = -1; \
    } while (0)

# define DO_TEST_PARSE_EMPTY(name, res) \
    do { \
        struct testParseData data = { .content = res }; \
        if (virTestRun("parse valid: " name, testParse, &data) < 0) \
            ret = -1; \
    } while (0)

# define DO_TEST_PARSE_FAIL(name, res, err) \
    do { \
        struct testParseData data = { .content = res, .error = err }; \
        if (virTestRun("parse invalid: " name, testParseFail, &data) < 0) \
            ret = -1; \
    } while (0)

# define DO_TEST_GET_BARS(_domain, _bus, _slot, _function, expect) \
    do { \
        struct testGetBARsData data = { \
            .addr = { .domain = _domain, .bus = _bus, \
                      .slot = _slot, .function = _function }, \
            .bars = expect, .nbars = G_N_ELEMENTS(expect), \
        }; \
        g_autofree char *label = NULL; \
        label = g_strdup_printf("virPCIEAGetBARs(%04x:%02x:%02x.%x)", \
                                _domain, _bus, _slot, _function); \
        if (virTestRun(label, testGetBARs, &data) < 0) \
            ret = -1; \
    } while (0)

# define DO_TEST_GET_BARS_FAIL(_domain, _bus, _slot, _function, why, err) \
    do { \
        struct testGetBARsData data = { \
            .addr = { .domain = _domain, .bus = _bus, \
                      .slot = _slot, .function = _function }, \
            .error = err, \
        }; \
        g_autofree char *label = NULL; \
        label = g_strdup_printf("virPCIEAGetBARs(%04x:%02x:%02x.%x) fails: %s", \
                                _domain, _bus, _slot, _function, why); \
        if (virTestRun(label, testGetBARs, &data) < 0) \
            ret = -1; \
    } while (0)

    DO_TEST_PARSE("x86 GPU, 13 lines, ROM and SR-IOV lines ignored",
                  gpuResource, gpuBARs);
    DO_TEST_PARSE("7 lines, no SR-IOV", sevenLinesResource, sevenLinesBARs);
    DO_TEST_PARSE("no newline at end of file",
                  noNewlineResource, noNewlineBARs);
    DO_TEST_PARSE_EMPTY("all lines zero, no BARs", allZeroResource);
    DO_TEST_PARSE("BARs without address (IORESOURCE_UNSET)",
                  unsetResource, unsetBARs);
    DO_TEST_PARSE("32-bit prefetchable BAR", pref32Resource, pref32BARs);
    DO_TEST_PARSE("junk after BAR5 not parsed",
                  trailingJunkResource, trailingJunkBARs);

    DO_TEST_PARSE_FAIL("empty file", "", "is truncated: expected at least 6 lines, got 0");
    DO_TEST_PARSE_FAIL("newline only", "\n", "is truncated: expected at least 6 lines, got 1");
    DO_TEST_PARSE_FAIL("truncated, 5 lines", ZERO_LINES_5,
                       "is truncated: expected at least 6 lines, got 5");
    DO_TEST_PARSE_FAIL("line with 2 fields",
                       ZERO_LINES_5
                       "0x0000000000003000 0x000000000000307f\n",
                       "Malformed line 6 in PCI resource file of device '" TEST_DEVNAME "': expected 3 fields, found 2");
    DO_TEST_PARSE_FAIL("line with 4 fields",
                       "0x00000000fa000000 0x00000000faffffff 0x0000000000040200 0x0\n"
                       ZERO_LINES_5,
                       "Malformed line 1 in PCI resource file of device '" TEST_DEVNAME "': expected 3 fields, found 4");
    DO_TEST_PARSE_FAIL("empty line",
                       ZERO_LINE "\n" ZERO_LINES_5,
                       "Malformed line 2 in PCI resource file of device '" TEST_DEVNAME "': expected 3 fields, found 0");
    DO_TEST_PARSE_FAIL("non-hex garbage",
                       ZERO_LINE ZERO_LINE
                       "0x00000000fa000000 0x00000000fazzzzzz 0x0000000000040200\n"
                       ZERO_LINE ZERO_LINE ZERO_LINE,
                       "Field 2 in line 3 of PCI resource file");
    DO_TEST_PARSE_FAIL("number without 0x prefix",
                       "00000000fa000000 0x00000000faffffff 0x0000000000040200\n"
                       ZERO_LINES_5,
                       "Field 1 in line 1 of PCI resource file");
    DO_TEST_PARSE_FAIL("negative number",
                       "0x00000000fa000000 0x00000000faffffff -0x0000000000040200\n"
                       ZERO_LINES_5,
                       "Field 3 in line 1 of PCI resource file");
    DO_TEST_PARSE_FAIL("number larger than 64 bits",
                       "0x10000000000000000 0x10000000000ffffff 0x0000000000040200\n"
                       ZERO_LINES_5,
                       "Field 1 in line 1 of PCI resource file");
    DO_TEST_PARSE_FAIL("end below start",
                       ZERO_LINE
                       "0x00000000fb000000 0x00000000fa000000 0x0000000000040200\n"
                       ZERO_LINE ZERO_LINE ZERO_LINE ZERO_LINE,
                       "Invalid range in line 2 of PCI resource file of device '" TEST_DEVNAME "': end 0xfa000000 is below start 0xfb000000");
    DO_TEST_PARSE_FAIL("size larger than 64 bits",
                       "0x0000000000000000 0xffffffffffffffff 0x0000000000040200\n"
                       ZERO_LINES_5,
                       "size does not fit in 64 bits");
    DO_TEST_PARSE_FAIL("flags neither I/O nor memory",
                       ZERO_LINES_5
                       "0x00000000fa000000 0x00000000faffffff 0x0000000000042000\n",
                       "Resource in line 6 of PCI resource file of device '" TEST_DEVNAME "' is neither I/O nor memory (flags 0x42000)");
    DO_TEST_PARSE_FAIL("binary junk", binaryJunkResource,
                       "Field 1 in line 1 of PCI resource file");
    DO_TEST_PARSE_FAIL("text garbage", "garbage\n",
                       "is truncated: expected at least 6 lines, got 1");

# define DO_TEST_PARSE_CONFIG(name, data) \
    do { \
        if (virTestRun("parse config space: " name, \
                       testParseConfig, &data) < 0) \
            ret = -1; \
    } while (0)

# define DO_TEST_PARSE_CONFIG_FAIL(name, _len, _bars, err, ...) \
    do { \
        struct testConfigData data = { \
            .regs = { __VA_ARGS__ }, .len = _len, \
            .bars = _bars, .nbars = G_N_ELEMENTS(_bars), .error = err, \
        }; \
        if (virTestRun("parse invalid config space: " name, \
                       testParseConfig, &data) < 0) \
            ret = -1; \
    } while (0)

    DO_TEST_PARSE_CONFIG("x86 GPU, 32-bit, 64-bit and I/O BARs", gpuConfig);
    DO_TEST_PARSE_CONFIG("64-bit BARs with flags, unassigned BAR",
                         graceGPUConfig);
    DO_TEST_PARSE_CONFIG("32-bit prefetchable BAR, 64 bytes", pref32Config);
    DO_TEST_PARSE_CONFIG("64-bit and I/O BAR, BAR registers only", ioConfig);
    DO_TEST_PARSE_CONFIG("bus address differs from CPU address",
                         translatedConfig);
    DO_TEST_PARSE_CONFIG("64-bit BAR above 2^63", highConfig);

    DO_TEST_PARSE_CONFIG_FAIL("one byte short of the BAR registers",
                              0x27, mem32BAR0,
                              "Config space of host PCI device '" TEST_DEVNAME "' is too short to hold the BAR registers: 39 bytes, expected at least 40",
                              0xfa000000);
    DO_TEST_PARSE_CONFIG_FAIL("empty", 0, mem32BAR0,
                              "is too short to hold the BAR registers: 0 bytes, expected at least 40",
                              0xfa000000);
    DO_TEST_PARSE_CONFIG_FAIL("17 bytes, the dummy config of virpcimock", 17, gpuBARs,
                              "is too short to hold the BAR registers: 17 bytes, expected at least 40",
                              0);
    DO_TEST_PARSE_CONFIG_FAIL("all ones, as from a device that is gone",
                              4096, mem32BAR0,
                              "Register of BAR0 of host PCI device '" TEST_DEVNAME "' (0xffffffff) does not match the type of the BAR in its sysfs resource file",
                              0xffffffff, 0xffffffff, 0xffffffff,
                              0xffffffff, 0xffffffff, 0xffffffff);
    DO_TEST_PARSE_CONFIG_FAIL("64-bit register, 32-bit resource",
                              4096, mem32BAR0,
                              "Register of BAR0 of host PCI device '" TEST_DEVNAME "' (0xfa00000c) does not match",
                              0xfa00000c, 0);
    DO_TEST_PARSE_CONFIG_FAIL("memory register, I/O resource",
                              4096, trailingJunkBARs,
                              "Register of BAR5 of host PCI device '" TEST_DEVNAME "' (0x00003000) does not match",
                              0, 0, 0, 0, 0, 0x00003000);
    DO_TEST_PARSE_CONFIG_FAIL("64-bit BAR5", 0x28, mem64BAR5,
                              "BAR5 of host PCI device '" TEST_DEVNAME "' is a 64-bit memory BAR but has no register for the upper half of its address",
                              0, 0, 0, 0, 0, 0x00000004);

    DO_TEST_GET_BARS(0x0000, 0x21, 0x00, 0, gpuHostBARs);
    DO_TEST_GET_BARS(0x0009, 0x01, 0x00, 0, graceGPUHostBARs);
    DO_TEST_GET_BARS(0x0000, 0xe7, 0x00, 0, unassignedHostBARs);
    DO_TEST_GET_BARS(0x0000, 0xc3, 0x00, 0, switchGPU1BARs);
    DO_TEST_GET_BARS(0x0000, 0xc4, 0x00, 0, switchGPU2BARs);
    DO_TEST_GET_BARS(0x0000, 0xc5, 0x00, 0, switchNICBARs);
    DO_TEST_GET_BARS(0x0000, 0xe1, 0x00, 0, htHoleBARs);
    DO_TEST_GET_BARS(0x0000, 0xe2, 0x00, 0, translatedHostBARs);
    DO_TEST_GET_BARS(0x0000, 0xe5, 0x00, 0, noIommuGroupBARs);
    DO_TEST_GET_BARS_FAIL(0x0000, 0x23, 0x00, 0, "text instead of BARs",
                          "Field 1 in line 1 of PCI resource file of device '0000:23:00.0' is not a 64-bit hexadecimal number");
    DO_TEST_GET_BARS_FAIL(0x0000, 0xe3, 0x00, 0, "resource file of 3 lines",
                          "PCI resource file of device '0000:e3:00.0' is truncated: expected at least 6 lines, got 3");
    DO_TEST_GET_BARS_FAIL(0x0000, 0xe4, 0x00, 0, "non-hex field",
                          "Field 3 in line 3 of PCI resource file of device '0000:e4:00.0' is not a 64-bit hexadecimal number");
    DO_TEST_GET_BARS_FAIL(0x0000, 0xe6, 0x00, 0, "config space too short",
                          "Config space of host PCI device '0000:e6:00.0' is too short to hold the BAR registers: 17 bytes, expected at least 40");
    DO_TEST_GET_BARS_FAIL(0x0000, 0x00, 0x01, 0, "no resource file",
                          "Cannot read the BAR layout of host PCI device '0000:00:01.0' from '/sys/bus/pci/devices/0000:00:01.0/resource': No such file or directory; check that the device exists on this host");
    DO_TEST_GET_BARS_FAIL(0x0000, 0x7f, 0x1f, 7, "no such device",
                          "Cannot read the BAR layout of host PCI device '0000:7f:1f.7' from '/sys/bus/pci/devices/0000:7f:1f.7/resource': No such file or directory; check that the device exists on this host");

    if (virTestRun("IOMMU groups of the new fixtures", testIOMMUGroups, NULL) < 0)
        ret = -1;

# define DO_TEST_ROOT_BUS(_path, _domain, _bus) \
    do { \
        struct testRootBusData data = { \
            .path = _path, .domain = _domain, .bus = _bus, \
        }; \
        if (virTestRun("root bus of " _path, testParseRootBus, &data) < 0) \
            ret = -1; \
    } while (0)

# define DO_TEST_ROOT_BUS_FAIL(_path) \
    do { \
        struct testRootBusData data = { .path = _path, .fail = true }; \
        if (virTestRun("no root bus in " _path, testParseRootBus, &data) < 0) \
            ret = -1; \
    } while (0)

# define DO_TEST_HOST_FACTS(_domain, _bus, _slot, _function, _hasRootBus, \
                            _rootDomain, _rootBus, _numaNode) \
    do { \
        struct testHostFactsData data = { \
            .addr = { .domain = _domain, .bus = _bus, \
                      .slot = _slot, .function = _function }, \
            .hasRootBus = _hasRootBus, \
            .domain = _rootDomain, .bus = _rootBus, .numaNode = _numaNode, \
        }; \
        g_autofree char *label = NULL; \
        label = g_strdup_printf("host facts of %04x:%02x:%02x.%x", \
                                _domain, _bus, _slot, _function); \
        if (virTestRun(label, testHostFacts, &data) < 0) \
            ret = -1; \
    } while (0)

    DO_TEST_ROOT_BUS("/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0", 0, 0);
    DO_TEST_ROOT_BUS("/sys/devices/pci0000:40/0000:40:01.0/0000:41:00.0/"
                     "0000:42:00.0/0000:43:00.0", 0, 0x40);
    DO_TEST_ROOT_BUS("/sys/devices/pci0009:00/0009:00:00.0/0009:01:00.0", 9, 0);
    DO_TEST_ROOT_BUS("/sys/devices/platform/soc/fe000000.pcie/pci0001:00/"
                     "0001:00:00.0/0001:01:00.0", 1, 0);
    DO_TEST_ROOT_BUS("/sys/devices/pci0000:00/0000:00:0e.0/pci10000:00/"
                     "10000:00:02.0/10000:01:00.0", 0, 0);
    DO_TEST_ROOT_BUS("/tmp/fake/sys/devices/pci0000:80/0000:80:01.0", 0, 0x80);
    DO_TEST_ROOT_BUS_FAIL("/sys/devices/platform/ACPI0016:00/0000:46:00.0");
    DO_TEST_ROOT_BUS_FAIL("/sys/devices/pcie/pci0000/pci:00/pci0000:100/0000:01:00.0");
    DO_TEST_ROOT_BUS_FAIL("/sys/devices/pci0000:00x/0000:00:01.0");
    DO_TEST_ROOT_BUS_FAIL("/sys/bus/pci/devices/0000:01:00.0");
    DO_TEST_ROOT_BUS_FAIL("");

    DO_TEST_HOST_FACTS(0x0000, 0x43, 0x00, 0, true, 0x0000, 0x40, 0);
    DO_TEST_HOST_FACTS(0x0000, 0xc3, 0x00, 0, true, 0x0000, 0xc0, 0);
    DO_TEST_HOST_FACTS(0x0000, 0xc4, 0x00, 0, true, 0x0000, 0xc0, 0);
    DO_TEST_HOST_FACTS(0x0000, 0xc5, 0x00, 0, true, 0x0000, 0xc0, 0);
    DO_TEST_HOST_FACTS(0x0000, 0xe1, 0x00, 0, true, 0x0000, 0xe1, 0);
    DO_TEST_HOST_FACTS(0x0000, 0xe5, 0x00, 0, true, 0x0000, 0xe5, -1);
    DO_TEST_HOST_FACTS(0x0000, 0x84, 0x00, 0, true, 0x0000, 0x80, 1);
    DO_TEST_HOST_FACTS(0x0018, 0x03, 0x00, 0, true, 0x0018, 0x00, 1);
    DO_TEST_HOST_FACTS(0x0000, 0x21, 0x00, 0, true, 0x0000, 0x21, -1);
    DO_TEST_HOST_FACTS(0x0000, 0x46, 0x00, 0, false, 0, 0, -1);
    DO_TEST_HOST_FACTS(0x0000, 0x7f, 0x1f, 7, false, 0, 0, -1);

# define DO_TEST_COUNT_ROOT_BUS(_domain, _bus, _count, _switches) \
    do { \
        struct testCountData data = { \
            .rootBus = true, .domain = _domain, .bus = _bus, .count = _count, \
            .switches = _switches, \
        }; \
        g_autofree char *label = NULL; \
        label = g_strdup_printf("endpoints below pci%04x:%02x", _domain, _bus); \
        if (virTestRun(label, testCountEndpoints, &data) < 0) \
            ret = -1; \
    } while (0)

# define DO_TEST_COUNT_GROUP(_group, _count, _switches) \
    do { \
        struct testCountData data = { \
            .group = _group, .count = _count, .switches = _switches, \
        }; \
        if (virTestRun("endpoints in IOMMU group " #_group, \
                       testCountEndpoints, &data) < 0) \
            ret = -1; \
    } while (0)

    /* the ports of the switch above them are bridges */
    DO_TEST_COUNT_ROOT_BUS(0x0000, 0x40, 2, 1);
    DO_TEST_COUNT_ROOT_BUS(0x0000, 0xc0, 4, 1);
    /* nested switches */
    DO_TEST_COUNT_ROOT_BUS(0x0000, 0x50, 3, 2);
    /* four functions, and a bridge without PCI Express on a root bus of
     * its own */
    DO_TEST_COUNT_ROOT_BUS(0x0005, 0x90, 4, 0);
    DO_TEST_COUNT_ROOT_BUS(0x0005, 0x80, 0, 0);
    DO_TEST_COUNT_ROOT_BUS(0x0000, 0xfe, 0, 0);
    DO_TEST_COUNT_GROUP(7, 4, 0);
    DO_TEST_COUNT_GROUP(40, 2, 0);
    /* a bridge alone */
    DO_TEST_COUNT_GROUP(4, 0, 0);
    DO_TEST_COUNT_GROUP(999, -1, 0);
    /* two downstream ports and the devices below them */
    DO_TEST_COUNT_GROUP(72, 3, 0);
    /* the inner switch of the nested ones, below a port without ACS */
    DO_TEST_COUNT_GROUP(70, 3, 1);

# define DO_TEST_PARSE_BRIDGES(_path, _expect) \
    do { \
        struct testBridgesData data = { .path = _path, .expect = _expect }; \
        if (virTestRun("bridges in " _path, testBridges, &data) < 0) \
            ret = -1; \
    } while (0)

# define DO_TEST_GET_BRIDGES(_domain, _bus, _slot, _function, _expect) \
    do { \
        struct testBridgesData data = { \
            .addr = { .domain = _domain, .bus = _bus, \
                      .slot = _slot, .function = _function }, \
            .expect = _expect, \
        }; \
        g_autofree char *label = NULL; \
        label = g_strdup_printf("bridges above %04x:%02x:%02x.%x", \
                                _domain, _bus, _slot, _function); \
        if (virTestRun(label, testBridges, &data) < 0) \
            ret = -1; \
    } while (0)

# define DO_TEST_PORT_TYPE(_name, _capType, _len, _loop, _expect) \
    do { \
        struct testPortTypeData data = { \
            .capType = _capType, .len = _len, .loop = _loop, \
            .expect = VIR_PCI_EA_BRIDGE_ ## _expect, \
        }; \
        if (virTestRun("port type: " _name, testPortType, &data) < 0) \
            ret = -1; \
    } while (0)

    DO_TEST_PARSE_BRIDGES("/sys/devices/pci0000:40/0000:40:01.0/0000:41:00.0/"
                          "0000:42:00.0/" TEST_DEVNAME,
                          "0000:40:01.0/other 0000:41:00.0/other 0000:42:00.0/other");
    DO_TEST_PARSE_BRIDGES("/sys/devices/platform/soc/fe000000.pcie/pci0001:00/"
                          "0001:00:00.0/" TEST_DEVNAME,
                          "0001:00:00.0/other");
    DO_TEST_PARSE_BRIDGES("/sys/devices/pci0000:00/" TEST_DEVNAME, "");
    DO_TEST_PARSE_BRIDGES("/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.1", NULL);
    DO_TEST_PARSE_BRIDGES("/sys/devices/pci0000:00/0000:00:01.0/usb1/" TEST_DEVNAME, NULL);
    DO_TEST_PARSE_BRIDGES("/sys/devices/pci0000:00", NULL);
    DO_TEST_PARSE_BRIDGES("/sys/devices/platform/ACPI0016:00/" TEST_DEVNAME, NULL);
    /* a component that looks like a host bridge but is none */
    DO_TEST_PARSE_BRIDGES("/sys/devices/pci-0/pci0000:00/0000:00:01.0/" TEST_DEVNAME,
                          "0000:00:01.0/other");
    /* a VMD domain below an endpoint of the host bridge */
    DO_TEST_PARSE_BRIDGES("/sys/devices/pci0000:00/0000:00:0e.0/pci10000:e0/"
                          "10000:e0:02.0/" TEST_DEVNAME, NULL);
    DO_TEST_PARSE_BRIDGES("/sys/devices/pci0000:00/0000:00:1.0/" TEST_DEVNAME, NULL);

    DO_TEST_GET_BRIDGES(0x0000, 0x43, 0x00, 0,
                        "0000:40:01.0/root 0000:41:00.0/upstream 0000:42:00.0/downstream");
    DO_TEST_GET_BRIDGES(0x0008, 0x04, 0x00, 0,
                        "0008:00:00.0/root 0008:01:00.0/upstream 0008:02:01.0/downstream");
    DO_TEST_GET_BRIDGES(0x0000, 0x55, 0x00, 0,
                        "0000:50:01.0/root 0000:51:00.0/upstream 0000:52:00.0/downstream "
                        "0000:53:00.0/upstream 0000:54:00.0/downstream");
    DO_TEST_GET_BRIDGES(0x0000, 0x74, 0x00, 1,
                        "0000:70:01.0/root 0000:71:00.0/upstream 0000:72:01.0/downstream");
    /* on its root bus; a bridge is read as what it is itself */
    DO_TEST_GET_BRIDGES(0x0000, 0xe1, 0x00, 0, "");
    DO_TEST_GET_BRIDGES(0x0000, 0x41, 0x00, 0, "0000:40:01.0/root");
    /* no host bridge in its path; no such device */
    DO_TEST_GET_BRIDGES(0x0000, 0x46, 0x00, 0, NULL);
    DO_TEST_GET_BRIDGES(0x0000, 0x7f, 0x1f, 7, NULL);

    DO_TEST_PORT_TYPE("root port", 4, 256, false, ROOT_PORT);
    DO_TEST_PORT_TYPE("upstream port", 5, 4096, false, UPSTREAM_PORT);
    DO_TEST_PORT_TYPE("downstream port", 6, 256, false, DOWNSTREAM_PORT);
    DO_TEST_PORT_TYPE("PCI Express to PCI bridge", 7, 256, false, OTHER);
    DO_TEST_PORT_TYPE("endpoint", 0, 256, false, OTHER);
    DO_TEST_PORT_TYPE("no PCI Express capability", -1, 256, false, OTHER);
    DO_TEST_PORT_TYPE("64 bytes read without privileges", 4, 64, false, OTHER);
    DO_TEST_PORT_TYPE("capability beyond what was read", 4, 0x62, false, OTHER);
    DO_TEST_PORT_TYPE("capability list that loops", 4, 256, true, OTHER);
    DO_TEST_PORT_TYPE("no config space", 4, 0, false, OTHER);

    return ret == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

VIR_TEST_MAIN_PRELOAD(mymain, VIR_TEST_MOCK("virpci"))
#else
int
main(void)
{
    return EXIT_AM_SKIP;
}
#endif
