/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <config.h>

#include "testutils.h"

#ifdef WITH_QEMU

# include "internal.h"
# include "qemu/qemu_ea.h"
# include "testutilsqemu.h"

# define VIR_FROM_THIS VIR_FROM_QEMU

static virQEMUDriver driver;

struct testGuestMapData {
    const char *name;
    const char *arch;
    unsigned int hostBits;      /* what the host is known to address */
    GHashTable *capslatest;
    GHashTable *capscache;
};


/* The guest address map of a domain, one range per line, and its address
 * width, compared with qemueadata/NAME.txt */
static int
testGuestMap(const void *opaque)
{
    const struct testGuestMapData *data = opaque;
    g_autofree char *xml = NULL;
    g_autofree char *expected = NULL;
    g_autofree char *actual = NULL;
    g_autoptr(virDomainDef) def = NULL;
    g_autoptr(qemuEAGuestMap) map = NULL;
    g_auto(virBuffer) buf = VIR_BUFFER_INITIALIZER;
    size_t i;

    xml = g_strdup_printf("%s/qemueadata/%s.xml", abs_srcdir, data->name);
    expected = g_strdup_printf("%s/qemueadata/%s.txt", abs_srcdir, data->name);

    if (testQemuInsertRealCaps(driver.qemuCapsCache, data->arch, "latest", "",
                               data->capslatest, data->capscache,
                               NULL, NULL) < 0)
        return -1;

    if (!(def = virDomainDefParseFile(xml, driver.xmlopt, NULL,
                                      VIR_DOMAIN_DEF_PARSE_INACTIVE)))
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
mymain(void)
{
    g_autoptr(GHashTable) capslatest = testQemuGetLatestCaps();
    g_autoptr(GHashTable) capscache = virHashNew(virObjectUnref);
    int ret = 0;

    if (qemuTestDriverInit(&driver) < 0)
        return EXIT_FAILURE;

# define DO_TEST_GUEST_MAP(_name, _arch, _hostBits) \
    do { \
        struct testGuestMapData data = { \
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
    /* AMD guest CPUs: the HyperTransport hole, and RAM moved to 1 TiB
     * when it would reach it; QEMU's default CPU model is an AMD one */
    DO_TEST_GUEST_MAP("q35-amd", "x86_64", 46);
    DO_TEST_GUEST_MAP("q35-amd-1t", "x86_64", 46);
    DO_TEST_GUEST_MAP("q35-no-cpu", "x86_64", 46);
    /* the high regions of virt move up with RAM beyond 255 GiB */
    DO_TEST_GUEST_MAP("virt-small", "aarch64", 0);
    DO_TEST_GUEST_MAP("virt-large", "aarch64", 0);

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
