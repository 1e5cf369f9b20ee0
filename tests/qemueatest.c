/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <config.h>

#include "testutils.h"

#ifdef WITH_QEMU

# include "internal.h"
# include "qemu/qemu_domain_address.h"
# include "qemu/qemu_ea.h"
# include "testutilsqemu.h"

# define VIR_FROM_THIS VIR_FROM_QEMU

static virQEMUDriver driver;

struct testDefData {
    const char *name;           /* qemueadata/NAME.xml */
    const char *other;          /* for ABI checks: qemueadata/OTHER.xml */
    const char *arch;
    unsigned int hostBits;      /* what the host is known to address */
    const char *error;          /* expected error message, NULL for success */
    GHashTable *capslatest;
    GHashTable *capscache;
};


/* Parse @path with the capabilities of the latest QEMU for data->arch */
static virDomainDef *
testParseFile(const struct testDefData *data,
              const char *path,
              virDomainXMLOption *xmlopt,
              unsigned int flags)
{
    if (testQemuInsertRealCaps(driver.qemuCapsCache, data->arch, "latest", "",
                               data->capslatest, data->capscache,
                               NULL, NULL) < 0)
        return NULL;

    return virDomainDefParseFile(path, xmlopt, NULL,
                                 VIR_DOMAIN_DEF_PARSE_INACTIVE | flags);
}


static virDomainDef *
testParseDef(const struct testDefData *data,
             const char *name,
             virDomainXMLOption *xmlopt,
             unsigned int flags)
{
    g_autofree char *path = g_strdup_printf("%s/qemueadata/%s.xml", abs_srcdir, name);

    return testParseFile(data, path, xmlopt, flags);
}


/* The guest address map of a domain, one range per line, and its address
 * width, compared with qemueadata/NAME.txt */
static int
testGuestMap(const void *opaque)
{
    const struct testDefData *data = opaque;
    g_autofree char *expected = NULL;
    g_autofree char *actual = NULL;
    g_autoptr(virDomainDef) def = NULL;
    g_autoptr(qemuEAGuestMap) map = NULL;
    g_auto(virBuffer) buf = VIR_BUFFER_INITIALIZER;
    size_t i;

    expected = g_strdup_printf("%s/qemueadata/%s.txt", abs_srcdir, data->name);

    if (!(def = testParseDef(data, data->name, driver.xmlopt, 0)))
        return -1;

    map = qemuEAGuestMapNew(def, driver.hostcpu, data->hostBits);

    for (i = 0; i < map->nranges; i++) {
        virBufferAsprintf(&buf, "0x%016llx-0x%016llx %s\n",
                          map->ranges[i].start, map->ranges[i].end,
                          map->ranges[i].name);
    }
    virBufferAsprintf(&buf, "%u address bits: %s\n",
                      map->physBits, map->physBitsOrigin);

    actual = virBufferContentAndReset(&buf);

    return virTestCompareToFile(actual, expected);
}


static int
testCheckError(const char *error,
               bool failed)
{
    if (!error) {
        if (failed)
            VIR_TEST_VERBOSE("unexpected error: %s", virGetLastErrorMessage());
        return failed ? -1 : 0;
    }

    if (!failed) {
        VIR_TEST_VERBOSE("succeeded, expected '%s'", error);
        return -1;
    }

    if (!strstr(virGetLastErrorMessage(), error)) {
        VIR_TEST_VERBOSE("failed with '%s', expected '%s'",
                         virGetLastErrorMessage(), error);
        return -1;
    }

    virResetLastError();
    return 0;
}


/* A driver that does not implement <fixedBar> refuses it */
static int
testOtherDriver(const void *opaque)
{
    const struct testDefData *data = opaque;
    g_autoptr(virDomainXMLOption) xmlopt = virTestGenericDomainXMLConfInit();
    g_autoptr(virDomainDef) def = testParseDef(data, data->name, xmlopt, 0);

    return testCheckError(data->error, !def);
}


/* Changing <fixedBar> changes the guest ABI, the order of <bar> does not */
static int
testABI(const void *opaque)
{
    const struct testDefData *data = opaque;
    g_autoptr(virDomainDef) src = NULL;
    g_autoptr(virDomainDef) dst = NULL;

    if (!(src = testParseDef(data, data->name, driver.xmlopt,
                             VIR_DOMAIN_DEF_PARSE_SKIP_VALIDATE)) ||
        !(dst = testParseDef(data, data->other, driver.xmlopt,
                             VIR_DOMAIN_DEF_PARSE_SKIP_VALIDATE)))
        return -1;

    return testCheckError(data->error,
                          !virDomainDefCheckABIStability(src, dst, driver.xmlopt));
}


/* Reconnecting to a running domain assigns addresses again on its live
 * definition; a placed domain must come out unchanged */
static int
testReassign(const void *opaque)
{
    const struct testDefData *data = opaque;
    g_autofree char *xml = NULL;
    g_autoptr(virDomainDef) def = NULL;
    g_autoptr(virQEMUCaps) qemuCaps = NULL;
    g_autofree char *before = NULL;
    g_autofree char *after = NULL;

    xml = g_strdup_printf("%s/qemuxmlconfdata/%s.%s-latest.xml",
                          abs_srcdir, data->name, data->arch);

    if (!(def = testParseFile(data, xml, driver.xmlopt,
                              VIR_DOMAIN_DEF_PARSE_SKIP_VALIDATE)))
        return -1;

    if (!(qemuCaps = virQEMUCapsCacheLookup(driver.qemuCapsCache, def->emulator)))
        return -1;

    /* parsing assigned addresses once more already */
    if (!(before = virDomainDefFormat(def, driver.xmlopt, VIR_DOMAIN_DEF_FORMAT_SECURE)) ||
        virTestCompareToFile(before, xml) < 0)
        return -1;

    if (qemuDomainAssignAddresses(def, qemuCaps, &driver, NULL, false) < 0)
        return -1;

    if (!(after = virDomainDefFormat(def, driver.xmlopt, VIR_DOMAIN_DEF_FORMAT_SECURE)))
        return -1;

    return virTestCompareToString(before, after);
}


static int
mymain(void)
{
    g_autoptr(GHashTable) capslatest = testQemuGetLatestCaps();
    g_autoptr(GHashTable) capscache = virHashNew(virObjectUnref);
    int ret = 0;

    if (qemuTestDriverInit(&driver) < 0)
        return EXIT_FAILURE;

# define DO_TEST_GUEST_MAP(_name, _arch, _hostBits) \
    do { \
        struct testDefData data = { \
            .name = _name, .arch = _arch, .hostBits = _hostBits, \
            .capslatest = capslatest, .capscache = capscache, \
        }; \
        if (virTestRun("guest address map " _name, testGuestMap, &data) < 0) \
            ret = -1; \
    } while (0)

    /* all RAM below 4 GiB, and 2 GiB below and the rest above */
    DO_TEST_GUEST_MAP("q35-small", "x86_64", 46);
    DO_TEST_GUEST_MAP("q35-large", "x86_64", 46);
    DO_TEST_GUEST_MAP("q35-hotplug", "x86_64", 46);
    /* where the guest physical address width comes from */
    DO_TEST_GUEST_MAP("q35-emulate", "x86_64", 46);
    DO_TEST_GUEST_MAP("q35-passthrough-limit", "x86_64", 46);
    DO_TEST_GUEST_MAP("q35-custom", "x86_64", 46);
    /* AMD guest CPUs under TCG: the HyperTransport hole, and RAM moved to
     * 1 TiB when it, hotplug memory and the 64-bit PCI hole would reach it;
     * QEMU's default CPU model is an AMD one */
    DO_TEST_GUEST_MAP("q35-amd", "x86_64", 46);
    DO_TEST_GUEST_MAP("q35-amd-1t", "x86_64", 46);
    DO_TEST_GUEST_MAP("q35-amd-hotplug", "x86_64", 46);
    /* under KVM the guest CPU has the host's vendor unless vendor_id says
     * otherwise */
    DO_TEST_GUEST_MAP("q35-kvm-epyc", "x86_64", 46);
    DO_TEST_GUEST_MAP("q35-kvm-vendor-id", "x86_64", 46);
    DO_TEST_GUEST_MAP("q35-no-cpu", "x86_64", 46);
    DO_TEST_GUEST_MAP("q35-tcg-no-cpu", "x86_64", 46);
    /* the high regions of virt move up with RAM beyond 255 GiB */
    DO_TEST_GUEST_MAP("virt-small", "aarch64", 0);
    DO_TEST_GUEST_MAP("virt-large", "aarch64", 0);

# define DO_TEST_DEF(_func, _name, _other, _error) \
    do { \
        struct testDefData data = { \
            .name = _name, .other = _other, .arch = "x86_64", .error = _error, \
            .capslatest = capslatest, .capscache = capscache, \
        }; \
        g_autofree char *label = g_strdup_printf("%s %s %s", #_func, _name, \
                                                 NULLSTR_EMPTY(_other)); \
        if (virTestRun(label, _func, &data) < 0) \
            ret = -1; \
    } while (0)

    DO_TEST_DEF(testOtherDriver, "generic-driver", NULL,
                "<fixedBar> on host device 0000:43:00.0 is not supported by this hypervisor driver, remove it");

    DO_TEST_DEF(testABI, "abi-src", "abi-src", NULL);
    DO_TEST_DEF(testABI, "abi-src", "abi-order", NULL);
    DO_TEST_DEF(testABI, "abi-src", "abi-mode",
                "Target host device fixedBar mode 'none' does not match source 'hpa'");
    DO_TEST_DEF(testABI, "abi-src", "abi-count",
                "Target host device fixedBar BAR count 1 does not match source 2");
    DO_TEST_DEF(testABI, "abi-src", "abi-index",
                "Target host device fixedBar has no address for BAR 3, source has 0x300800000000");
    DO_TEST_DEF(testABI, "abi-src", "abi-address",
                "Target host device fixedBar BAR 3 at 0x310800000000 does not match source address 0x300800000000");
    DO_TEST_DEF(testABI, "abi-src", "abi-size",
                "Target host device fixedBar BAR 3 of size 0x2000000 does not match source size 0x0");
    DO_TEST_DEF(testABI, "abi-src", "abi-p2p",
                "Target host device GPUDirect clique <p2p> does not match source");

# define DO_TEST_REASSIGN(_name, _arch) \
    do { \
        struct testDefData data = { \
            .name = _name, .arch = _arch, \
            .capslatest = capslatest, .capscache = capscache, \
        }; \
        if (virTestRun("reassign addresses " _name, testReassign, &data) < 0) \
            ret = -1; \
    } while (0)

    DO_TEST_REASSIGN("hostdev-pci-fixedbar-place-root-complexes", "x86_64");
    DO_TEST_REASSIGN("hostdev-pci-fixedbar-place-partial", "x86_64");
    DO_TEST_REASSIGN("hostdev-pci-fixedbar-place-isolation", "x86_64");
    DO_TEST_REASSIGN("hostdev-pci-fixedbar-place-virt", "aarch64");

    qemuTestDriverFree(&driver);
    return ret == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

VIR_TEST_MAIN(mymain)

#else /* ! WITH_QEMU */

int
main(void)
{
    return EXIT_AM_SKIP;
}

#endif /* ! WITH_QEMU */
