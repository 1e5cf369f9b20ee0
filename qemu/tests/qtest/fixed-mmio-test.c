/*
 * QTest for the x-fixed-mmio machine property (q35 and arm virt) and the
 * fixed (Enhanced Allocation) ranges in the _CRS of pxb host bridges
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/units.h"
#include "libqtest.h"
#include "libqos/fw_cfg.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"

#define E820_RESERVED 2
#define VIRT_FW_CFG_BASE 0x09020000

/* A device no machine has: makes QEMU exit right after machine init */
#define SENTINEL_DEVICE "fixed-mmio-test-no-such-device"

/*
 * Arguments for every QEMU started: the minimal build ships no firmware, so
 * q35 gets an empty BIOS image (and no vapic option ROM)
 */
static char *common_args;
static char *bios_path;

typedef struct E820Entry {
    uint64_t address;
    uint64_t length;
    uint32_t type;
} QEMU_PACKED E820Entry;

typedef struct RefuseCase {
    const char *name;
    const char *machine;    /* -machine argument */
    const char *extra;      /* other arguments */
    const char *error;      /* expected in stderr */
} RefuseCase;

/*
 * Start QEMU with @machine and @extra up to machine init only (a bogus
 * -device stops it right after), and return its stderr.  Exits with 1
 * either way.
 */
static char *run_machine_init(const char *machine, const char *extra)
{
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    g_autofree char *cmd = NULL;
    g_auto(GStrv) argv = NULL;
    g_autoptr(GError) err = NULL;
    char *out = NULL, *errout = NULL;
    int status;

    g_assert(qemu);
    cmd = g_strdup_printf("%s -accel qtest -display none -nodefaults %s "
                          "-machine %s %s -device " SENTINEL_DEVICE,
                          qemu, common_args, machine, extra ? extra : "");
    g_assert(g_shell_parse_argv(cmd, NULL, &argv, &err));
    g_assert(g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                          &out, &errout, &status, &err));
    g_free(out);
    g_assert_false(g_spawn_check_exit_status(status, NULL));
    return errout;
}

static void test_refuse(gconstpointer opaque)
{
    const RefuseCase *c = opaque;
    g_autofree char *errout = run_machine_init(c->machine, c->extra);

    if (!strstr(errout, c->error)) {
        g_test_message("stderr: %s", errout);
    }
    g_assert_nonnull(strstr(errout, c->error));
    g_assert_null(strstr(errout, SENTINEL_DEVICE));
}

static void test_accept(gconstpointer opaque)
{
    const RefuseCase *c = opaque;
    g_autofree char *errout = run_machine_init(c->machine, c->extra);

    if (strstr(errout, "x-fixed-mmio.")) {
        g_test_message("stderr: %s", errout);
    }
    g_assert_null(strstr(errout, "x-fixed-mmio."));
    g_assert_nonnull(strstr(errout, SENTINEL_DEVICE));
}

static const RefuseCase q35_refuse[] = {
    { "ram-below-4g", "q35,x-fixed-mmio.0.base=0x10000000,"
      "x-fixed-mmio.0.size=0x1000", "-m 512M",
      "x-fixed-mmio.0 (base 0x10000000, size 0x1000) overlaps RAM below 4G "
      "[0x0-0x1fffffff]" },
    { "ram-above-4g", "q35,x-fixed-mmio.0.base=0xc0000000,"
      "x-fixed-mmio.0.size=0x1000,x-fixed-mmio.1.base=0x140000000,"
      "x-fixed-mmio.1.size=0x1000", "-m 4G",
      "x-fixed-mmio.1 (base 0x140000000, size 0x1000) overlaps RAM above "
      "4G [0x100000000-0x17fffffff]" },
    { "mmconfig", "q35,x-fixed-mmio.0.base=0xbff00000,"
      "x-fixed-mmio.0.size=0x200000", "-m 512M",
      "x-fixed-mmio.0 (base 0xbff00000, size 0x200000) overlaps the "
      "MMCONFIG (PCIEXBAR) window [0xb0000000-0xbfffffff]" },
    { "chipset", "q35,x-fixed-mmio.0.base=0xfee00000,"
      "x-fixed-mmio.0.size=0x1000", "-m 512M",
      "x-fixed-mmio.0 (base 0xfee00000, size 0x1000) overlaps the fixed "
      "chipset region (IOAPIC, HPET, LAPIC, BIOS) [0xfec00000-0xffffffff]" },
    { "overflow", "q35,x-fixed-mmio.0.base=0xfffffffffff00000,"
      "x-fixed-mmio.0.size=0x200000", "-m 512M",
      "x-fixed-mmio.0 (base 0xfffffffffff00000, size 0x200000) wraps "
      "around the end of the address space" },
    { "zero-size", "q35,x-fixed-mmio.0.base=0xc0000000,"
      "x-fixed-mmio.0.size=0", "-m 512M",
      "x-fixed-mmio.0 (base 0xc0000000, size 0x0) has size 0" },
    { "overlap", "q35,x-fixed-mmio.0.base=0x200000000,"
      "x-fixed-mmio.0.size=0x1000,x-fixed-mmio.1.base=0xc0000000,"
      "x-fixed-mmio.1.size=0x2000000,x-fixed-mmio.2.base=0xc1000000,"
      "x-fixed-mmio.2.size=0x1000", "-m 512M",
      "x-fixed-mmio.1 (base 0xc0000000, size 0x2000000) overlaps "
      "x-fixed-mmio.2 (base 0xc1000000, size 0x1000)" },
    { "phys-bits", "q35,x-fixed-mmio.0.base=0xffffff0000,"
      "x-fixed-mmio.0.size=0x20000", "-m 512M -cpu qemu64,phys-bits=40",
      "x-fixed-mmio.0 (base 0xffffff0000, size 0x20000) ends at "
      "0x1000000ffff, beyond the CPU's physical address space "
      "(phys-bits=40)" },
    { "hotplug", "q35,x-fixed-mmio.0.base=0x180000000,"
      "x-fixed-mmio.0.size=0x1000", "-m 512M,slots=1,maxmem=2G",
      "x-fixed-mmio.0 (base 0x180000000, size 0x1000) overlaps the memory "
      "hotplug region [0x100000000-0x19fffffff]" },
    /* qemu64 is an AMD CPU */
    { "amd-ht-hole", "q35,x-fixed-mmio.0.base=0xfe00000000,"
      "x-fixed-mmio.0.size=0x1000", "-m 512M -cpu qemu64,phys-bits=41",
      "x-fixed-mmio.0 (base 0xfe00000000, size 0x1000) overlaps the AMD "
      "HyperTransport hole [0xfd00000000-0xffffffffff]" },
};

static const RefuseCase q35_accept[] = {
    /* unsorted, in the 32-bit PCI hole, above RAM, near the top */
    { "accept", "q35,x-fixed-mmio.0.base=0x4000000000,"
      "x-fixed-mmio.0.size=0x40000000,x-fixed-mmio.1.base=0xc0000000,"
      "x-fixed-mmio.1.size=0x1000000,x-fixed-mmio.2.base=0x7fffff0000,"
      "x-fixed-mmio.2.size=0x10000", "-m 4G", NULL },
    /* HT hole free with an Intel CPU model */
    { "intel-ht-hole", "q35,x-fixed-mmio.0.base=0xfe00000000,"
      "x-fixed-mmio.0.size=0x1000", "-m 512M -cpu Skylake-Client,phys-bits=41",
      NULL },
};

static const RefuseCase virt_refuse[] = {
    { "low-memmap", "virt,x-fixed-mmio.0.base=0x20000000,"
      "x-fixed-mmio.0.size=0x1000", "-cpu max -m 1G",
      "x-fixed-mmio.0 (base 0x20000000, size 0x1000) overlaps the low "
      "memory map" },
    { "ram", "virt,x-fixed-mmio.0.base=0x100000000,"
      "x-fixed-mmio.0.size=0x1000,x-fixed-mmio.1.base=0x7ffff000,"
      "x-fixed-mmio.1.size=0x2000", "-cpu max -m 1G",
      "x-fixed-mmio.1 (base 0x7ffff000, size 0x2000) overlaps RAM "
      "[0x40000000-0x7fffffff]" },
    { "hotplug", "virt,x-fixed-mmio.0.base=0x80000000,"
      "x-fixed-mmio.0.size=0x1000", "-cpu max -m 1G,slots=1,maxmem=2G",
      "x-fixed-mmio.0 (base 0x80000000, size 0x1000) overlaps the memory "
      "hotplug region [0x80000000-0xffffffff]" },
    { "high-redist", "virt,x-fixed-mmio.0.base=0x4000000000,"
      "x-fixed-mmio.0.size=0x1000", "-cpu max -m 1G",
      "x-fixed-mmio.0 (base 0x4000000000, size 0x1000) overlaps the high "
      "GIC redistributor region [0x4000000000-0x4003ffffff]" },
    { "high-ecam", "virt,x-fixed-mmio.0.base=0x4010000000,"
      "x-fixed-mmio.0.size=0x1000", "-cpu max -m 1G",
      "x-fixed-mmio.0 (base 0x4010000000, size 0x1000) overlaps the high "
      "PCIe ECAM [0x4010000000-0x401fffffff]" },
    { "high-mmio", "virt,x-fixed-mmio.0.base=0xfff0000000,"
      "x-fixed-mmio.0.size=0x20000000", "-cpu max -m 1G",
      "x-fixed-mmio.0 (base 0xfff0000000, size 0x20000000) overlaps the "
      "high PCIe MMIO window [0x8000000000-0xffffffffff]" },
    { "pa-limit", "virt,highmem=off,x-fixed-mmio.0.base=0xfffff000,"
      "x-fixed-mmio.0.size=0x2000", "-cpu max -m 1G",
      "x-fixed-mmio.0 (base 0xfffff000, size 0x2000) ends at 0x100000fff, "
      "beyond the 32-bit guest physical address space (0xffffffff)" },
    { "overlap", "virt,x-fixed-mmio.0.base=0x100000000,"
      "x-fixed-mmio.0.size=0x100000,x-fixed-mmio.1.base=0x100000000,"
      "x-fixed-mmio.1.size=0x1000", "-cpu max -m 1G",
      "x-fixed-mmio.0 (base 0x100000000, size 0x100000) overlaps "
      "x-fixed-mmio.1 (base 0x100000000, size 0x1000)" },
};

static const RefuseCase virt_accept[] = {
    /* between RAM and the high regions, above them, in the 32-bit space */
    { "accept", "virt,x-fixed-mmio.0.base=0x2000000000,"
      "x-fixed-mmio.0.size=0x40000000,x-fixed-mmio.1.base=0x10000000000,"
      "x-fixed-mmio.1.size=0x40000000,x-fixed-mmio.2.base=0xc0000000,"
      "x-fixed-mmio.2.size=0x100000", "-cpu max -m 1G", NULL },
};

static QTestState *start_qemu(const char *args)
{
    return qtest_initf("-nodefaults %s %s", common_args, args);
}

static bool has_property(QTestState *qts, const char *type, const char *name)
{
    QDict *rsp = qtest_qmp(qts, "{ 'execute': 'qom-list-properties',"
                           "  'arguments': { 'typename': %s } }", type);
    QList *props = qdict_get_qlist(rsp, "return");
    QListEntry *e;
    bool found = false;

    g_assert(props);
    QLIST_FOREACH_ENTRY(props, e) {
        QDict *prop = qobject_to(QDict, qlist_entry_obj(e));

        if (!strcmp(qdict_get_str(prop, "name"), name)) {
            found = true;
        }
    }
    qobject_unref(rsp);
    return found;
}

/* qom-get returns the ranges as given */
static void check_qom_get(QTestState *qts, unsigned idx, uint64_t base,
                          uint64_t size)
{
    QDict *rsp = qtest_qmp(qts, "{ 'execute': 'qom-get', 'arguments': {"
                           "  'path': '/machine',"
                           "  'property': 'x-fixed-mmio' } }");
    QList *list = qdict_get_qlist(rsp, "return");
    QListEntry *e;
    QDict *range = NULL;

    g_assert(list);
    QLIST_FOREACH_ENTRY(list, e) {
        if (!idx--) {
            range = qobject_to(QDict, qlist_entry_obj(e));
            break;
        }
    }
    g_assert(range);
    g_assert_cmphex(qdict_get_int(range, "base"), ==, base);
    g_assert_cmphex(qdict_get_int(range, "size"), ==, size);
    qobject_unref(rsp);
}

static void *read_fw_cfg_file(QFWCFG *fw_cfg, const char *name, size_t *len)
{
    size_t size = qfw_cfg_get_file(fw_cfg, name, NULL, 0);
    void *buf;

    *len = size;
    if (!size) {
        return NULL;
    }
    buf = g_malloc0(size);
    g_assert_cmpuint(qfw_cfg_get_file(fw_cfg, name, buf, size), ==, size);
    return buf;
}

static bool e820_has_reserved(const E820Entry *table, size_t len,
                              uint64_t base, uint64_t size)
{
    size_t i;

    for (i = 0; i < len / sizeof(*table); i++) {
        if (le64_to_cpu(table[i].address) == base &&
            le64_to_cpu(table[i].length) == size &&
            le32_to_cpu(table[i].type) == E820_RESERVED) {
            return true;
        }
    }
    return false;
}

static void test_q35_e820(void)
{
    QTestState *qts;
    QFWCFG *fw_cfg;
    g_autofree E820Entry *e820 = NULL;
    g_autofree uint64_t *resv_end = NULL;
    size_t len;

    qts = start_qemu("-machine q35,x-fixed-mmio.0.base=0x4000000000,"
                     "x-fixed-mmio.0.size=0x40000000,"
                     "x-fixed-mmio.1.base=0xc0000000,"
                     "x-fixed-mmio.1.size=0x1000000,"
                     "x-fixed-mmio.2.base=0x4100000000,"
                     "x-fixed-mmio.2.size=0x10000 -m 512M");
    g_assert_true(has_property(qts, "generic-pc-machine", "x-fixed-mmio"));
    check_qom_get(qts, 1, 0xc0000000, 0x1000000);
    fw_cfg = pc_fw_cfg_init(qts);

    e820 = read_fw_cfg_file(fw_cfg, "etc/e820", &len);
    g_assert_nonnull(e820);
    g_assert_true(e820_has_reserved(e820, len, 0x4000000000, 0x40000000));
    g_assert_true(e820_has_reserved(e820, len, 0xc0000000, 0x1000000));
    g_assert_true(e820_has_reserved(e820, len, 0x4100000000, 0x10000));

    /* ROUND_UP(end of the highest range, 1 GiB) */
    resv_end = read_fw_cfg_file(fw_cfg, "etc/reserved-memory-end", &len);
    g_assert_cmpuint(len, ==, sizeof(*resv_end));
    g_assert_cmphex(le64_to_cpu(*resv_end), ==, 0x4140000000);

    pc_fw_cfg_uninit(fw_cfg);
    qtest_quit(qts);
}

/*
 * The etc/reserved-memory-end that q35 with -machine/-m @args gives the
 * firmware, 0 if it gives none.
 */
static uint64_t q35_resv_end(const char *args)
{
    QTestState *qts = start_qemu(args);
    QFWCFG *fw_cfg = pc_fw_cfg_init(qts);
    g_autofree uint64_t *resv_end = NULL;
    uint64_t value = 0;
    size_t len;

    resv_end = read_fw_cfg_file(fw_cfg, "etc/reserved-memory-end", &len);
    if (resv_end) {
        g_assert_cmpuint(len, ==, sizeof(*resv_end));
        value = le64_to_cpu(*resv_end);
    }
    pc_fw_cfg_uninit(fw_cfg);
    qtest_quit(qts);
    return value;
}

static void test_q35_resv_end(void)
{
    /* No range above 4G: no etc/reserved-memory-end, as without ranges */
    g_assert_cmphex(q35_resv_end("-machine q35,x-fixed-mmio.0.base=0xc0000000,"
                                 "x-fixed-mmio.0.size=0x1000000 -m 512M"),
                    ==, 0);

    /* With memory hotplug, raised above the hotplug region by the range */
    g_assert_cmphex(q35_resv_end("-machine q35,x-fixed-mmio.0.base=0x800000000,"
                                 "x-fixed-mmio.0.size=0x1000 "
                                 "-m 512M,slots=1,maxmem=2G"),
                    ==, 0x840000000);

    /* The range below the hotplug region's end does not lower it */
    g_assert_cmphex(q35_resv_end("-machine q35,x-fixed-mmio.0.base=0xc0000000,"
                                 "x-fixed-mmio.0.size=0x1000 "
                                 "-m 512M,slots=1,maxmem=2G"),
                    ==, 0x1c0000000);
}

static void test_virt_alias(void)
{
    QTestState *qts;
    g_autofree char *mtree = NULL;

    qts = start_qemu("-machine virt,x-fixed-mmio.0.base=0x2000000000,"
                     "x-fixed-mmio.0.size=0x40000000,"
                     "x-fixed-mmio.1.base=0xc0000000,"
                     "x-fixed-mmio.1.size=0x100000 -cpu max -m 1G");
    g_assert_true(has_property(qts, "virt-machine", "x-fixed-mmio"));
    mtree = qtest_hmp(qts, "info mtree");
    g_assert_nonnull(strstr(mtree,
                            "0000002000000000-000000203fffffff (prio 0, i/o): "
                            "alias pcie-fixed-mmio-0 @gpex_mmio_window "
                            "0000002000000000-000000203fffffff"));
    g_assert_nonnull(strstr(mtree,
                            "00000000c0000000-00000000c00fffff (prio 0, i/o): "
                            "alias pcie-fixed-mmio-1 @gpex_mmio_window "
                            "00000000c0000000-00000000c00fffff"));
    qtest_quit(qts);
}

/* An ACPI DWord or QWord memory address space descriptor */
typedef struct MemDesc {
    uint64_t min, max;
    bool prefetch;
} MemDesc;

/* Decode every memory descriptor of the ACPI table blob */
static GArray *find_mem_descs(const uint8_t *p, size_t len)
{
    GArray *descs = g_array_new(false, false, sizeof(MemDesc));
    size_t i;

    for (i = 0; i + 46 <= len; i++) {
        MemDesc d;

        /* DWord: 0x87, length 23, memory type, flags, type flags */
        if (p[i] == 0x87 && p[i + 1] == 23 && p[i + 2] == 0 && p[i + 3] == 0) {
            d.min = (uint32_t)ldl_le_p(p + i + 10);
            d.max = (uint32_t)ldl_le_p(p + i + 14);
            d.prefetch = ((p[i + 5] >> 1) & 3) == 3;
            g_array_append_val(descs, d);
        }
        /* QWord: 0x8A, length 43 */
        if (p[i] == 0x8a && p[i + 1] == 43 && p[i + 2] == 0 && p[i + 3] == 0) {
            d.min = ldq_le_p(p + i + 14);
            d.max = ldq_le_p(p + i + 22);
            d.prefetch = ((p[i + 5] >> 1) & 3) == 3;
            g_array_append_val(descs, d);
        }
    }
    return descs;
}

/*
 * The tables describe [@base, @base + @size) in exactly one descriptor (the
 * pxb's), prefetchable as told, and no other descriptor overlaps it
 * (PCI0 does not claim it).
 */
static void check_crs(const uint8_t *tables, size_t len, uint64_t base,
                      uint64_t size, bool prefetch)
{
    g_autoptr(GArray) descs = find_mem_descs(tables, len);
    uint64_t limit = base + size - 1;
    unsigned i, found = 0;

    for (i = 0; i < descs->len; i++) {
        MemDesc *d = &g_array_index(descs, MemDesc, i);

        if (d->max < base || d->min > limit) {
            continue;
        }
        g_test_message("descriptor [0x%" PRIx64 "-0x%" PRIx64 "]%s",
                       d->min, d->max, d->prefetch ? " prefetchable" : "");
        g_assert_cmphex(d->min, ==, base);
        g_assert_cmphex(d->max, ==, limit);
        g_assert_cmpint(d->prefetch, ==, prefetch);
        found++;
    }
    g_assert_cmpuint(found, ==, 1);
}

/* No descriptor covers any of [@lo, @hi] (PCI0 claims no more than its own) */
static void check_no_crs(const uint8_t *tables, size_t len, uint64_t lo,
                         uint64_t hi)
{
    g_autoptr(GArray) descs = find_mem_descs(tables, len);
    unsigned i;

    for (i = 0; i < descs->len; i++) {
        MemDesc *d = &g_array_index(descs, MemDesc, i);

        if (d->max >= lo && d->min <= hi) {
            g_test_message("descriptor [0x%" PRIx64 "-0x%" PRIx64 "]",
                           d->min, d->max);
        }
        g_assert_false(d->max >= lo && d->min <= hi);
    }
}

/* Start QEMU with @args and return its ACPI tables (fw_cfg etc/acpi/tables) */
static uint8_t *acpi_tables_of(const char *args,
                               QFWCFG *(*fw_cfg_init)(QTestState *),
                               void (*fw_cfg_uninit)(QFWCFG *), size_t *len)
{
    QTestState *qts = start_qemu(args);
    QFWCFG *fw_cfg = fw_cfg_init(qts);
    uint8_t *tables = read_fw_cfg_file(fw_cfg, "etc/acpi/tables", len);

    g_assert_nonnull(tables);
    fw_cfg_uninit(fw_cfg);
    qtest_quit(qts);
    return tables;
}

/*
 * Start @machine with @extra options and an expander bus (bus number
 * @pxb_nr) holding: root port rp0 with a stand-in whose 1 GiB 64-bit
 * prefetchable BAR0 is at @bar0 and 1 MiB 32-bit BAR2 at @bar2; root port
 * rp1 with a switch whose downstream port holds a stand-in with a 2 MiB
 * 32-bit prefetchable BAR0 at @bar2 + 16 MiB.  x-fixed-mmio covers them.
 * Check that each BAR is in the expander bus's _CRS and that no _CRS
 * claims the @unclaimed ranges (pairs of first and last address, ending
 * with 0, 0).  Firmware does not run, so nothing is enabled.
 */
static void test_crs(const char *machine, const char *extra,
                     const char *pxb_nr,
                     QFWCFG *(*fw_cfg_init)(QTestState *),
                     void (*fw_cfg_uninit)(QFWCFG *), uint64_t bar0,
                     uint64_t bar2, const uint64_t *unclaimed)
{
    uint64_t bar0b = bar2 + 0x1000000;
    g_autofree char *args = g_strdup_printf(
        "-machine %s,x-fixed-mmio.0.base=0x%" PRIx64
        ",x-fixed-mmio.0.size=0x40000000,x-fixed-mmio.1.base=0x%" PRIx64
        ",x-fixed-mmio.1.size=0x1400000 %s"
        " -device pxb-pcie,bus_nr=%s,id=pxb,bus=pcie.0"
        " -device pcie-root-port,id=rp0,bus=pxb,chassis=10,port=0,addr=0.0"
        " -device pcie-root-port,id=rp1,bus=pxb,chassis=11,port=1,addr=1.0"
        " -device pci-standin,bus=rp0,bar0-size=0x40000000,"
        "bar0-type=mem64-pref,bar2-size=0x100000,bar2-type=mem32,"
        "x-ea=on,x-ea-bar0-addr=0x%" PRIx64 ",x-ea-bar2-addr=0x%" PRIx64
        " -device x3130-upstream,id=up,bus=rp1"
        " -device xio3130-downstream,id=dp,bus=up,chassis=12,slot=0"
        " -device pci-standin,bus=dp,bar0-size=0x200000,"
        "bar0-type=mem32-pref,x-ea=on,x-ea-bar0-addr=0x%" PRIx64,
        machine, bar0, bar2, extra, pxb_nr, bar0, bar2, bar0b);
    size_t len;
    g_autofree uint8_t *tables = acpi_tables_of(args, fw_cfg_init,
                                                fw_cfg_uninit, &len);

    check_crs(tables, len, bar0, 0x40000000, true);
    check_crs(tables, len, bar2, 0x100000, false);
    check_crs(tables, len, bar0b, 0x200000, true);
    for (; unclaimed && unclaimed[1]; unclaimed += 2) {
        check_no_crs(tables, len, unclaimed[0], unclaimed[1]);
    }
}

/*
 * The window spans a guest sets for a root port above EA BARs only are what
 * the expander bus's _CRS describes: with a 16 MiB 64-bit non-prefetchable
 * BAR0 at @high (above 4 GiB, so forwarded by the prefetchable window), a
 * 32 MiB prefetchable BAR2 16 MiB above its end and a 64 KiB 32-bit BAR4 at
 * @low, one prefetchable descriptor spans BAR0, the gap and BAR2, and one
 * non-prefetchable descriptor the 1 MiB that holds BAR4.
 */
static void test_crs_window(const char *machine, const char *extra,
                            const char *pxb_nr,
                            QFWCFG *(*fw_cfg_init)(QTestState *),
                            void (*fw_cfg_uninit)(QFWCFG *), uint64_t high,
                            uint64_t low)
{
    g_autofree char *args = g_strdup_printf(
        "-machine %s,x-fixed-mmio.0.base=0x%" PRIx64
        ",x-fixed-mmio.0.size=0x4000000,x-fixed-mmio.1.base=0x%" PRIx64
        ",x-fixed-mmio.1.size=0x100000 %s"
        " -device pxb-pcie,bus_nr=%s,id=pxb,bus=pcie.0"
        " -device pcie-root-port,id=rp0,bus=pxb,chassis=10,port=0,addr=0.0"
        " -device pci-standin,bus=rp0,bar0-size=0x1000000,bar0-type=mem64,"
        "bar2-size=0x2000000,bar2-type=mem64-pref,bar4-size=0x10000,"
        "bar4-type=mem32,x-ea=on,x-ea-bar0-addr=0x%" PRIx64
        ",x-ea-bar2-addr=0x%" PRIx64 ",x-ea-bar4-addr=0x%" PRIx64,
        machine, high, low, extra, pxb_nr, high, high + 0x2000000, low);
    size_t len;
    g_autofree uint8_t *tables = acpi_tables_of(args, fw_cfg_init,
                                                fw_cfg_uninit, &len);

    check_crs(tables, len, high, 0x4000000, true);
    check_crs(tables, len, low, 0x100000, false);
}

/* arm virt's fw_cfg: data at +0, big-endian selector at +8 */
static void virt_fw_cfg_select(QFWCFG *fw_cfg, uint16_t key)
{
    qtest_writew(fw_cfg->qts, fw_cfg->base + 8, cpu_to_be16(key));
}

static void virt_fw_cfg_read(QFWCFG *fw_cfg, void *data, size_t len)
{
    uint8_t *ptr = data;
    size_t i;

    for (i = 0; i < len; i++) {
        ptr[i] = qtest_readb(fw_cfg->qts, fw_cfg->base);
    }
}

static QFWCFG *virt_fw_cfg_init(QTestState *qts)
{
    QFWCFG *fw_cfg = g_new0(QFWCFG, 1);

    fw_cfg->base = VIRT_FW_CFG_BASE;
    fw_cfg->qts = qts;
    fw_cfg->select = virt_fw_cfg_select;
    fw_cfg->read = virt_fw_cfg_read;
    return fw_cfg;
}

static void virt_fw_cfg_uninit(QFWCFG *fw_cfg)
{
    g_free(fw_cfg);
}

static void test_q35_crs(void)
{
    /* Between the default 64-bit hole [4G, 36G) and bar0 */
    static const uint64_t q35_unclaimed[] = {
        0x1000000000, 0x3fffffffff, 0, 0
    };

    /* bar0 outside the default 64-bit hole, bar2 and bar0b in the 32-bit */
    test_crs("q35", "-m 512M", "254", pc_fw_cfg_init, pc_fw_cfg_uninit,
             0x4000000000, 0xc0000000, q35_unclaimed);
    /* bar0 inside the default 64-bit hole [4G, 36G): PCI0's gets split */
    test_crs("q35", "-m 512M", "254", pc_fw_cfg_init, pc_fw_cfg_uninit,
             0x200000000, 0xc0000000, NULL);
}

static void test_q35_crs_window(void)
{
    test_crs_window("q35", "-m 512M", "254", pc_fw_cfg_init, pc_fw_cfg_uninit,
                    0x4000000000, 0xc0000000);
}

static void test_virt_crs_window(void)
{
    test_crs_window("virt", "-cpu max -m 1G", "8", virt_fw_cfg_init,
                    virt_fw_cfg_uninit, 0x2000000000, 0xc0000000);
}

static void test_virt_crs(void)
{
    /* Around the EA BARs, outside PCI0's MMIO windows */
    static const uint64_t virt_unclaimed[] = {
        0x40000000, 0xbfffffff, 0x2040000000, 0x3fffffffff, 0, 0
    };

    /* bar0 between RAM and the high regions, the others below 4G */
    test_crs("virt", "-cpu max -m 1G", "8", virt_fw_cfg_init,
             virt_fw_cfg_uninit, 0x2000000000, 0xc0000000, virt_unclaimed);
}

static void add_cases(const char *prefix, const RefuseCase *cases,
                      size_t n, GTestDataFunc fn)
{
    size_t i;

    for (i = 0; i < n; i++) {
        g_autofree char *path = g_strdup_printf("%s/%s", prefix,
                                                cases[i].name);

        qtest_add_data_func(path, &cases[i], fn);
    }
}

int main(int argc, char **argv)
{
    const char *arch = qtest_get_arch();
    bool ea = qtest_has_device("pci-standin") &&
              qtest_has_device("pxb-pcie") &&
              qtest_has_device("x3130-upstream");

    int ret;

    g_test_init(&argc, &argv, NULL);

    if (g_str_equal(arch, "x86_64") && qtest_has_machine("q35")) {
        int fd = g_file_open_tmp("fixed-mmio-test-bios-XXXXXX", &bios_path,
                                 NULL);

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(ftruncate(fd, 64 * KiB), ==, 0);
        close(fd);
        common_args = g_strdup_printf("-bios %s -global apic-common.vapic=off",
                                      bios_path);

        add_cases("fixed-mmio/q35/refuse", q35_refuse,
                  ARRAY_SIZE(q35_refuse), test_refuse);
        add_cases("fixed-mmio/q35", q35_accept, ARRAY_SIZE(q35_accept),
                  test_accept);
        qtest_add_func("fixed-mmio/q35/e820", test_q35_e820);
        qtest_add_func("fixed-mmio/q35/reserved-memory-end",
                       test_q35_resv_end);
        if (ea) {
            qtest_add_func("fixed-mmio/q35/crs", test_q35_crs);
            qtest_add_func("fixed-mmio/q35/crs-window", test_q35_crs_window);
        }
    } else if (g_str_equal(arch, "aarch64") && qtest_has_machine("virt")) {
        common_args = g_strdup("");
        add_cases("fixed-mmio/virt/refuse", virt_refuse,
                  ARRAY_SIZE(virt_refuse), test_refuse);
        add_cases("fixed-mmio/virt", virt_accept, ARRAY_SIZE(virt_accept),
                  test_accept);
        qtest_add_func("fixed-mmio/virt/alias", test_virt_alias);
        if (ea) {
            qtest_add_func("fixed-mmio/virt/crs", test_virt_crs);
            qtest_add_func("fixed-mmio/virt/crs-window",
                           test_virt_crs_window);
        }
    }

    ret = g_test_run();

    if (bios_path) {
        unlink(bios_path);
        g_free(bios_path);
    }
    g_free(common_args);
    return ret;
}
