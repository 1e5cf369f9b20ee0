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
    bool fail;
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
            bar->size != exp->size ||
            bar->io != exp->io ||
            bar->prefetchable != exp->prefetchable ||
            bar->mem64 != exp->mem64) {
            VIR_TEST_DEBUG("%s: BAR entry %zu mismatch:", devName, i);
            VIR_TEST_DEBUG("  got      index=%u start=0x%llx size=0x%llx io=%d prefetchable=%d mem64=%d",
                           bar->idx, bar->start, bar->size,
                           bar->io, bar->prefetchable, bar->mem64);
            VIR_TEST_DEBUG("  expected index=%u start=0x%llx size=0x%llx io=%d prefetchable=%d mem64=%d",
                           exp->idx, exp->start, exp->size,
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

    if (data->fail) {
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

        VIR_TEST_DEBUG("expected error: %s", virGetLastErrorMessage());
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

/* Grace style aarch64 GPU: BAR4 has a size but no address. */
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
        const char *msg = virGetLastErrorMessage();

        if (rc == 0) {
            VIR_TEST_DEBUG("found host bridge %04x:%02x unexpectedly", domain, bus);
            return -1;
        }
        if (!strstr(msg, "Cannot find the host bridge of PCI device '" TEST_DEVNAME "'")) {
            VIR_TEST_DEBUG("unexpected error message '%s'", msg);
            return -1;
        }
        virResetLastError();
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
        VIR_TEST_DEBUG("expected error: %s", virGetLastErrorMessage());
        virResetLastError();
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

# define DO_TEST_GET_BARS_FAIL(_domain, _bus, _slot, _function, why) \
    do { \
        struct testGetBARsData data = { \
            .addr = { .domain = _domain, .bus = _bus, \
                      .slot = _slot, .function = _function }, \
            .fail = true, \
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

    DO_TEST_GET_BARS(0x0000, 0x21, 0x00, 0, gpuBARs);
    DO_TEST_GET_BARS(0x0009, 0x01, 0x00, 0, graceGPUBARs);
    DO_TEST_GET_BARS_FAIL(0x0000, 0x23, 0x00, 0, "malformed resource file");
    DO_TEST_GET_BARS_FAIL(0x0000, 0x00, 0x01, 0, "no resource file");
    DO_TEST_GET_BARS_FAIL(0x0000, 0x7f, 0x1f, 7, "no such device");

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
    DO_TEST_HOST_FACTS(0x0000, 0x84, 0x00, 0, true, 0x0000, 0x80, 1);
    DO_TEST_HOST_FACTS(0x0018, 0x03, 0x00, 0, true, 0x0018, 0x00, 1);
    DO_TEST_HOST_FACTS(0x0000, 0x21, 0x00, 0, true, 0x0000, 0x21, -1);
    DO_TEST_HOST_FACTS(0x0000, 0x46, 0x00, 0, false, 0, 0, -1);
    DO_TEST_HOST_FACTS(0x0000, 0x7f, 0x1f, 7, false, 0, 0, -1);

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
