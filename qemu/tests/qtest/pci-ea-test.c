/*
 * QTest for PCI Enhanced Allocation (x-ea, x-ea-barN-addr) and the
 * pci-standin endpoint
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/units.h"
#include "qemu/bswap.h"
#include "libqtest.h"
#include "qobject/qdict.h"
#include "libqos/pci.h"
#include "libqos/pci-pc.h"
#include "libqos/generic-pcihost.h"
#include "standard-headers/linux/pci_regs.h"

/* Addresses the tests use, per machine */
typedef struct EAMachine {
    const char *arch;
    const char *machine;
    uint64_t addr32;        /* free 32-bit PCI MMIO, 16 MiB aligned */
    uint64_t addr64;        /* free 64-bit PCI MMIO, 8 GiB aligned */
} EAMachine;

static const EAMachine ea_machines[] = {
    { "x86_64", "-machine q35", 0xc0000000ULL, 0x10000000000ULL },
    { "aarch64", "-machine virt -cpu max", 0x20000000ULL, 0x8000000000ULL },
};

/*
 * The PC machines need a BIOS image, although qtest never runs it: use a
 * blank one so that the test does not depend on firmware being installed.
 */
static char *ea_bios_path;
static char *ea_machine_args;

static const EAMachine *ea_machine(void)
{
    const char *arch = qtest_get_arch();
    int i;

    for (i = 0; i < ARRAY_SIZE(ea_machines); i++) {
        if (!strcmp(arch, ea_machines[i].arch)) {
            return &ea_machines[i];
        }
    }
    g_assert_not_reached();
}

typedef struct EATest {
    QTestState *qts;
    QPCIBus *bus;
    QGenericPCIBus gbus;
} EATest;

static void ea_start(EATest *t, const char *devices)
{
    const EAMachine *m = ea_machine();

    t->qts = qtest_initf("%s -nodefaults %s", ea_machine_args, devices);
    if (!strcmp(m->arch, "x86_64")) {
        t->bus = qpci_new_pc(t->qts, NULL);
    } else {
        qpci_init_generic(&t->gbus, t->qts, NULL, false);
        t->bus = &t->gbus.bus;
    }
}

static void ea_end(EATest *t)
{
    if (!strcmp(ea_machine()->arch, "x86_64")) {
        qpci_free_pc(t->bus);
    }
    qtest_quit(t->qts);
}

/* The libqos config accessors take the bus number in bits 15:8 of devfn */
static QPCIDevice *ea_find(EATest *t, int bus, int slot, int fn)
{
    QPCIDevice *dev = qpci_device_find(t->bus,
                                       (bus << 8) | QPCI_DEVFN(slot, fn));

    g_assert(dev);
    return dev;
}

static uint8_t ea_find_cap(QPCIDevice *dev, uint8_t id)
{
    uint8_t pos;
    int n = 0;

    g_assert(qpci_config_readw(dev, PCI_STATUS) & PCI_STATUS_CAP_LIST);
    for (pos = qpci_config_readb(dev, PCI_CAPABILITY_LIST); pos;
         pos = qpci_config_readb(dev, pos + PCI_CAP_LIST_NEXT)) {
        g_assert_cmpint(pos & 3, ==, 0);
        g_assert_cmpint(pos, >=, PCI_STD_HEADER_SIZEOF);
        g_assert_cmpint(++n, <, 48);
        if (qpci_config_readb(dev, pos + PCI_CAP_LIST_ID) == id) {
            return pos;
        }
    }
    return 0;
}

typedef struct EAEntry {
    int bei;
    bool prefetch;
    uint64_t base;
    uint64_t size;
    bool mem64;             /* a 64-bit BAR: 64-bit Base even below 4G */
} EAEntry;

/* Check the EA capability of @dev dword by dword */
static void ea_check_cap(QPCIDevice *dev, const EAEntry *e, int n)
{
    uint8_t pos = ea_find_cap(dev, PCI_CAP_ID_EA);
    int i;

    g_assert_cmpint(pos, !=, 0);
    g_assert_cmpint(qpci_config_readb(dev, pos + PCI_EA_NUM_ENT) &
                    PCI_EA_NUM_ENT_MASK, ==, n);
    g_assert_cmpint(qpci_config_readb(dev, pos + 3), ==, 0);
    pos += PCI_EA_FIRST_ENT;

    for (i = 0; i < n; i++) {
        uint64_t max = e[i].size - 1;
        bool base64 = e[i].base > UINT32_MAX || e[i].mem64;
        bool max64 = max > UINT32_MAX;
        uint32_t prop = e[i].prefetch ? PCI_EA_P_MEM_PREFETCH : PCI_EA_P_MEM;
        uint32_t dw0 = PCI_EA_ENABLE | prop << 16 | prop << 8 |
                       e[i].bei << 4 | (2 + base64 + max64);

        g_assert_cmphex(qpci_config_readl(dev, pos), ==, dw0);
        g_assert_cmphex(qpci_config_readl(dev, pos + PCI_EA_BASE), ==,
                        (uint32_t)(e[i].base & PCI_EA_FIELD_MASK) |
                        (base64 ? PCI_EA_IS_64 : 0));
        g_assert_cmphex(qpci_config_readl(dev, pos + PCI_EA_MAX_OFFSET), ==,
                        (uint32_t)(max & PCI_EA_FIELD_MASK) |
                        (max64 ? PCI_EA_IS_64 : 0));
        pos += 12;
        if (base64) {
            g_assert_cmphex(qpci_config_readl(dev, pos), ==, e[i].base >> 32);
            pos += 4;
        }
        if (max64) {
            g_assert_cmphex(qpci_config_readl(dev, pos), ==, max >> 32);
            pos += 4;
        }
    }
}

/* Size in bytes of the EA capability of @dev */
static int ea_cap_size(QPCIDevice *dev)
{
    uint8_t pos = ea_find_cap(dev, PCI_CAP_ID_EA);
    int n = qpci_config_readb(dev, pos + PCI_EA_NUM_ENT) & PCI_EA_NUM_ENT_MASK;
    int len = PCI_EA_FIRST_ENT;
    int i;

    for (i = 0; i < n; i++) {
        len += 4 + 4 * (qpci_config_readl(dev, pos + len) & PCI_EA_ES);
    }
    return len;
}

/* Writing all ones and all zeroes to the EA capability changes nothing */
static void ea_check_cap_readonly(QPCIDevice *dev)
{
    uint8_t pos = ea_find_cap(dev, PCI_CAP_ID_EA);
    int size = ea_cap_size(dev);
    uint32_t before[64];
    int i;

    g_assert_cmpint(pos, !=, 0);
    for (i = 0; i < size / 4; i++) {
        before[i] = qpci_config_readl(dev, pos + i * 4);
    }
    for (i = 0; i < size / 4; i++) {
        qpci_config_writel(dev, pos + i * 4, 0xffffffff);
        g_assert_cmphex(qpci_config_readl(dev, pos + i * 4), ==, before[i]);
        qpci_config_writel(dev, pos + i * 4, 0);
        g_assert_cmphex(qpci_config_readl(dev, pos + i * 4), ==, before[i]);
    }
    g_assert_cmpint(ea_find_cap(dev, PCI_CAP_ID_EA), ==, pos);
}

/* Every BAR register reads 0, also after writing all ones */
static void ea_check_bars_zero(QPCIDevice *dev)
{
    int i;

    for (i = 0; i < 6; i++) {
        uint8_t reg = PCI_BASE_ADDRESS_0 + i * 4;

        g_assert_cmphex(qpci_config_readl(dev, reg), ==, 0);
        qpci_config_writel(dev, reg, 0xffffffff);
        g_assert_cmphex(qpci_config_readl(dev, reg), ==, 0);
    }
}

static void ea_set_mem(QPCIDevice *dev, bool on)
{
    uint16_t cmd = qpci_config_readw(dev, PCI_COMMAND);

    cmd = on ? cmd | PCI_COMMAND_MEMORY : cmd & ~PCI_COMMAND_MEMORY;
    qpci_config_writew(dev, PCI_COMMAND, cmd);
}

/* What pci-standin's background reads at @offset of BAR @bar */
static uint64_t standin_pattern(int bar, uint64_t offset)
{
    return 0x5354000000000000ULL | (uint64_t)bar << 40 |
           (offset & 0xfffffffff8ULL);
}

/* Program the bus numbers of root port @rp: secondary = subordinate = @sec */
static void ea_rp_set_bus(QPCIDevice *rp, int pri, int sec)
{
    qpci_config_writeb(rp, PCI_PRIMARY_BUS, pri);
    qpci_config_writeb(rp, PCI_SECONDARY_BUS, sec);
    qpci_config_writeb(rp, PCI_SUBORDINATE_BUS, sec);
}

/* Open the root port windows on [m32, m32 + s32) and [m64, m64 + s64) */
static void ea_rp_open(QPCIDevice *rp, uint64_t m32, uint64_t s32,
                       uint64_t m64, uint64_t s64)
{
    uint64_t l32 = m32 + s32 - 1, l64 = m64 + s64 - 1;

    qpci_config_writew(rp, PCI_MEMORY_BASE, (m32 >> 16) & 0xfff0);
    qpci_config_writew(rp, PCI_MEMORY_LIMIT, (l32 >> 16) & 0xfff0);
    qpci_config_writew(rp, PCI_PREF_MEMORY_BASE, (m64 >> 16) & 0xfff0);
    qpci_config_writew(rp, PCI_PREF_MEMORY_LIMIT, (l64 >> 16) & 0xfff0);
    qpci_config_writel(rp, PCI_PREF_BASE_UPPER32, m64 >> 32);
    qpci_config_writel(rp, PCI_PREF_LIMIT_UPPER32, l64 >> 32);
    ea_set_mem(rp, true);
}

#define STANDIN_BAR0_SIZE   (16 * MiB)
#define STANDIN_BAR2_SIZE   (8 * GiB)
#define STANDIN_MEMDEV_SIZE (1 * MiB)
#define EA_PXB_BUS          0x80

/* q35/virt + pxb-pcie -> pcie-root-port -> pci-standin with x-ea */
static void test_standin_behind_root_port(void)
{
    const EAMachine *m = ea_machine();
    g_autofree char *path = NULL;
    g_autofree char *devices = NULL;
    QPCIDevice *rp, *dev;
    EATest t;
    EAEntry e[] = {
        { 0, false, m->addr32, STANDIN_BAR0_SIZE },
        { 2, true, m->addr64, STANDIN_BAR2_SIZE },
    };
    uint32_t val;
    int fd;

    fd = g_file_open_tmp("pci-ea-test-XXXXXX", &path, NULL);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, STANDIN_MEMDEV_SIZE), ==, 0);

    devices = g_strdup_printf(
        "-object memory-backend-file,id=mem0,size=%" PRIu64 ",share=on,"
        "mem-path=%s "
        "-device pxb-pcie,id=pxb1,bus_nr=%d,bus=pcie.0,addr=0x4 "
        "-device pcie-root-port,id=rp1,bus=pxb1,addr=0x0,chassis=2,"
        "hotplug=off,io-reserve=0,mem-reserve=0,pref64-reserve=0 "
        "-device pci-standin,id=ea0,bus=rp1,addr=0x0,"
        "bar0-size=%" PRIu64 ",bar0-type=mem32,"
        "bar2-size=%" PRIu64 ",bar2-type=mem64-pref,"
        "bar4-size=64,bar4-type=io,"
        "memdev=mem0,memdev-bar=0,"
        "x-ea=on,x-ea-bar0-addr=0x%" PRIx64 ",x-ea-bar2-addr=0x%" PRIx64
        ",x-ea-bar2-size=%" PRIu64,
        STANDIN_MEMDEV_SIZE, path, EA_PXB_BUS, STANDIN_BAR0_SIZE,
        STANDIN_BAR2_SIZE, m->addr32, m->addr64, STANDIN_BAR2_SIZE);
    ea_start(&t, devices);

    rp = ea_find(&t, EA_PXB_BUS, 0, 0);
    ea_rp_set_bus(rp, EA_PXB_BUS, EA_PXB_BUS + 1);
    dev = ea_find(&t, EA_PXB_BUS + 1, 0, 0);
    g_assert_cmphex(qpci_config_readw(dev, PCI_VENDOR_ID), ==, 0x1b36);
    g_assert_cmphex(qpci_config_readw(dev, PCI_DEVICE_ID), ==, 0x0015);
    g_assert_cmpint(ea_find_cap(dev, PCI_CAP_ID_EXP), !=, 0);

    ea_check_cap(dev, e, ARRAY_SIZE(e));
    ea_check_cap_readonly(dev);
    ea_check_cap(dev, e, ARRAY_SIZE(e));
    ea_check_bars_zero(dev);

    /* Memory Space enabled, but the root port windows closed: unreachable */
    ea_set_mem(dev, true);
    g_assert_cmphex(qtest_readq(t.qts, m->addr32 + 2 * MiB), !=,
                    standin_pattern(0, 2 * MiB));
    g_assert_cmphex(qtest_readq(t.qts, m->addr64 + 4 * KiB), !=,
                    standin_pattern(2, 4 * KiB));

    /* Windows open: both BARs at their fixed addresses */
    ea_rp_open(rp, m->addr32, STANDIN_BAR0_SIZE, m->addr64,
               STANDIN_BAR2_SIZE);
    g_assert_cmphex(qtest_readq(t.qts, m->addr32 + 2 * MiB), ==,
                    standin_pattern(0, 2 * MiB));
    g_assert_cmphex(qtest_readq(t.qts, m->addr32 + STANDIN_BAR0_SIZE - 8),
                    ==, standin_pattern(0, STANDIN_BAR0_SIZE - 8));
    g_assert_cmphex(qtest_readq(t.qts, m->addr64 + 4 * KiB), ==,
                    standin_pattern(2, 4 * KiB));
    g_assert_cmphex(qtest_readq(t.qts, m->addr64 + STANDIN_BAR2_SIZE - 8),
                    ==, standin_pattern(2, STANDIN_BAR2_SIZE - 8));
    /* ... while the BAR registers still read 0 */
    ea_check_bars_zero(dev);

    /* memdev: a guest write through BAR0 lands in the backend file */
    qtest_writel(t.qts, m->addr32 + 0x10, 0xcafe1234);
    g_assert_cmphex(qtest_readl(t.qts, m->addr32 + 0x10), ==, 0xcafe1234);
    g_assert_cmpint(pread(fd, &val, sizeof(val), 0x10), ==, sizeof(val));
    g_assert_cmphex(le32_to_cpu(val), ==, 0xcafe1234);

    /* Memory Space disabled: unmapped again */
    ea_set_mem(dev, false);
    g_assert_cmphex(qtest_readq(t.qts, m->addr32 + 2 * MiB), !=,
                    standin_pattern(0, 2 * MiB));
    g_assert_cmphex(qtest_readq(t.qts, m->addr64 + 4 * KiB), !=,
                    standin_pattern(2, 4 * KiB));

    /* Reset keeps the BAR registers unimplemented and the capability */
    ea_set_mem(dev, true);
    qtest_system_reset(t.qts);
    ea_rp_set_bus(rp, EA_PXB_BUS, EA_PXB_BUS + 1);
    g_assert_cmphex(qpci_config_readw(dev, PCI_COMMAND) &
                    PCI_COMMAND_MEMORY, ==, 0);
    ea_check_bars_zero(dev);
    ea_check_cap(dev, e, ARRAY_SIZE(e));
    ea_rp_open(rp, m->addr32, STANDIN_BAR0_SIZE, m->addr64,
               STANDIN_BAR2_SIZE);
    g_assert_cmphex(qtest_readq(t.qts, m->addr64 + 4 * KiB), !=,
                    standin_pattern(2, 4 * KiB));
    ea_set_mem(dev, true);
    g_assert_cmphex(qtest_readq(t.qts, m->addr64 + 4 * KiB), ==,
                    standin_pattern(2, 4 * KiB));
    g_assert_cmphex(qtest_readl(t.qts, m->addr32 + 0x10), ==, 0xcafe1234);

    g_free(dev);
    g_free(rp);
    ea_end(&t);
    close(fd);
    unlink(path);
}

/* Does "info mtree" show region @name at [@addr, @addr + @size)? */
static bool ea_mtree_has(QTestState *qts, uint64_t addr, uint64_t size,
                         const char *name)
{
    g_autofree char *mtree = qtest_hmp(qts, "info mtree");
    g_autofree char *line = g_strdup_printf("%016" PRIx64 "-%016" PRIx64
                                            " (prio 1, i/o): %s",
                                            addr, addr + size - 1, name);
    const char *p;

    for (p = strstr(mtree, line); p; p = strstr(p + 1, line)) {
        char next = p[strlen(line)];

        if (next == '\r' || next == '\n' || next == '\0') {
            return true;
        }
    }
    return false;
}

/* Does "info mtree" mention region @name at all? */
static bool ea_mtree_mentions(QTestState *qts, const char *name)
{
    g_autofree char *mtree = qtest_hmp(qts, "info mtree");

    return strstr(mtree, name) != NULL;
}

/* pci-testdev on the root bus inherits x-ea; its I/O BAR 1 is hidden */
static void test_testdev(void)
{
    const EAMachine *m = ea_machine();
    g_autofree char *devices = NULL;
    QPCIDevice *dev;
    EATest t;
    EAEntry e[] = {
        { 0, false, m->addr32, 4 * KiB },
        { 2, true, m->addr64, 16 * MiB },
    };

    devices = g_strdup_printf(
        "-device pci-testdev,id=td0,bus=pcie.0,addr=0x5,membar=16M,x-ea=on,"
        "x-ea-bar0-addr=0x%" PRIx64 ",x-ea-bar2-addr=0x%" PRIx64,
        m->addr32, m->addr64);
    ea_start(&t, devices);
    dev = ea_find(&t, 0, 5, 0);

    ea_check_cap(dev, e, ARRAY_SIZE(e));
    ea_check_bars_zero(dev);

    g_assert_false(ea_mtree_has(t.qts, m->addr32, 4 * KiB,
                                "pci-testdev-mmio"));
    qpci_config_writew(dev, PCI_COMMAND,
                       PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
    g_assert_true(ea_mtree_has(t.qts, m->addr32, 4 * KiB,
                               "pci-testdev-mmio"));
    g_assert_true(ea_mtree_has(t.qts, m->addr64, 16 * MiB,
                               "pci-testdev-membar"));
    /* The I/O BAR stays unmapped even with I/O Space enabled */
    g_assert_false(ea_mtree_mentions(t.qts, "pci-testdev-portio"));
    ea_set_mem(dev, false);
    g_assert_false(ea_mtree_has(t.qts, m->addr32, 4 * KiB,
                                "pci-testdev-mmio"));

    g_free(dev);
    ea_end(&t);
}

/* e1000e on the root bus: BARs 0, 1, 3 are memory, BAR 2 is I/O */
static void test_e1000e(void)
{
    const EAMachine *m = ea_machine();
    g_autofree char *devices = NULL;
    QPCIDevice *dev;
    EATest t;
    EAEntry e[] = {
        { 0, false, m->addr32, 128 * KiB },
        { 1, false, m->addr32 + 128 * KiB, 128 * KiB },
        { 3, false, m->addr32 + 256 * KiB, 16 * KiB },
    };

    devices = g_strdup_printf(
        "-device e1000e,id=nic0,bus=pcie.0,addr=0x6,romfile=,x-ea=on,"
        "x-ea-bar0-addr=0x%" PRIx64 ",x-ea-bar1-addr=0x%" PRIx64
        ",x-ea-bar3-addr=0x%" PRIx64,
        e[0].base, e[1].base, e[2].base);
    ea_start(&t, devices);
    dev = ea_find(&t, 0, 6, 0);

    ea_check_cap(dev, e, ARRAY_SIZE(e));
    ea_check_bars_zero(dev);
    g_assert_false(ea_mtree_has(t.qts, e[0].base, e[0].size, "e1000e-mmio"));
    ea_set_mem(dev, true);
    g_assert_true(ea_mtree_has(t.qts, e[0].base, e[0].size, "e1000e-mmio"));
    g_assert_true(ea_mtree_has(t.qts, e[1].base, e[1].size, "e1000e-flash"));
    g_assert_true(ea_mtree_has(t.qts, e[2].base, e[2].size, "e1000e-msix"));

    g_free(dev);
    ea_end(&t);
}

/*
 * A 64-bit BAR below 4 GiB: the entry still has a 64-bit Base (upper dword
 * 0), so that the OS sees a 64-bit BAR (Linux sets IORESOURCE_MEM_64 from
 * the 64b bits only).  Check the capability byte by byte.
 */
static void test_mem64_below_4g(void)
{
    const EAMachine *m = ea_machine();
    g_autofree char *devices = NULL;
    QPCIDevice *dev;
    EATest t;
    uint32_t a = m->addr32;
    const uint8_t expected[] = {
        PCI_CAP_ID_EA, 0x40, 0x01, 0x00,       /* ID, Next (PCIe), 1 entry */
        0x03, 0x00, 0x00, 0x80,                /* 3 more dwords, BEI 0, Mem */
        (a & 0xfc) | 0x02, a >> 8, a >> 16, a >> 24,   /* Base, 64b */
        0xfc, 0xff, 0xff, 0x00,                /* MaxOffset 16M - 1 */
        0x00, 0x00, 0x00, 0x00,                /* Base[63:32] */
    };
    EAEntry e[] = {
        { 0, false, m->addr32, 16 * MiB, true },
    };
    uint8_t pos;
    int i;

    devices = g_strdup_printf(
        "-device pci-standin,id=ea0,bus=pcie.0,addr=0x5,bar0-size=16M,"
        "bar0-type=mem64,x-ea=on,x-ea-bar0-addr=0x%" PRIx64, m->addr32);
    ea_start(&t, devices);
    dev = ea_find(&t, 0, 5, 0);

    pos = ea_find_cap(dev, PCI_CAP_ID_EA);
    g_assert_cmpint(pos, ==, 0x7c);
    g_assert_cmpint(ea_find_cap(dev, PCI_CAP_ID_EXP), ==, 0x40);
    for (i = 0; i < ARRAY_SIZE(expected); i++) {
        g_assert_cmphex(qpci_config_readb(dev, pos + i), ==, expected[i]);
    }
    ea_check_cap(dev, e, ARRAY_SIZE(e));
    ea_check_cap_readonly(dev);
    ea_check_bars_zero(dev);

    ea_set_mem(dev, true);
    g_assert_cmphex(qtest_readq(t.qts, m->addr32 + 8 * MiB), ==,
                    standin_pattern(0, 8 * MiB));

    g_free(dev);
    ea_end(&t);
}

/* Wait for the DEVICE_DELETED event of device @id */
static void ea_wait_deleted(QTestState *qts, const char *id)
{
    for (;;) {
        QDict *resp = qtest_qmp_eventwait_ref(qts, "DEVICE_DELETED");
        QDict *data = qdict_get_qdict(resp, "data");
        bool found = data && qdict_haskey(data, "device") &&
                     !strcmp(qdict_get_str(data, "device"), id);

        qobject_unref(resp);
        if (found) {
            return;
        }
    }
}

/* q35: hot-plug and unplug an x-ea device on a native-hotplug root port */
static void test_hotplug(void)
{
    const EAMachine *m = ea_machine();
    QPCIDevice *rp, *dev;
    EATest t;
    EAEntry e[] = {
        { 0, false, m->addr32, 16 * MiB },
    };
    uint16_t sltctl;
    uint8_t exp;

    ea_start(&t, "-global ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off "
             "-device pcie-root-port,id=rp1,bus=pcie.0,addr=0x7,"
             "chassis=3,slot=3");
    rp = ea_find(&t, 0, 7, 0);
    ea_rp_set_bus(rp, 0, 1);
    ea_rp_open(rp, m->addr32, 16 * MiB, m->addr64, 16 * MiB);

    qtest_qmp_device_add(t.qts, "pci-standin", "ea1",
                         "{'bus': 'rp1', 'addr': '0x0', "
                         "'bar0-size': %" PRIu64 ", 'x-ea': true, "
                         "'x-ea-bar0-addr': %" PRIu64 "}",
                         (uint64_t)(16 * MiB), m->addr32);
    /* Native hotplug: act as the guest and power the slot on */
    exp = ea_find_cap(rp, PCI_CAP_ID_EXP);
    g_assert_cmpint(exp, !=, 0);
    sltctl = qpci_config_readw(rp, exp + PCI_EXP_SLTCTL);
    sltctl &= ~(PCI_EXP_SLTCTL_PCC | PCI_EXP_SLTCTL_PIC);
    qpci_config_writew(rp, exp + PCI_EXP_SLTCTL,
                       sltctl | PCI_EXP_SLTCTL_PWR_IND_ON);
    dev = ea_find(&t, 1, 0, 0);
    ea_check_cap(dev, e, ARRAY_SIZE(e));
    ea_check_bars_zero(dev);
    g_assert_false(ea_mtree_mentions(t.qts, "pci-standin-bar0"));
    ea_set_mem(dev, true);
    g_assert_true(ea_mtree_mentions(t.qts, "pci-standin-bar0"));
    g_assert_cmphex(qtest_readq(t.qts, m->addr32 + 4 * KiB), ==,
                    standin_pattern(0, 4 * KiB));
    g_free(dev);

    /* ... and off after the unplug request */
    qtest_qmp_device_del_send(t.qts, "ea1");
    sltctl = qpci_config_readw(rp, exp + PCI_EXP_SLTCTL);
    sltctl &= ~PCI_EXP_SLTCTL_PIC;
    qpci_config_writew(rp, exp + PCI_EXP_SLTCTL,
                       sltctl | PCI_EXP_SLTCTL_PCC |
                       PCI_EXP_SLTCTL_PWR_IND_OFF);
    ea_wait_deleted(t.qts, "ea1");
    g_assert_false(ea_mtree_mentions(t.qts, "pci-standin-bar0"));
    g_assert_cmphex(qtest_readq(t.qts, m->addr32 + 4 * KiB), !=,
                    standin_pattern(0, 4 * KiB));
    g_assert_null(qpci_device_find(t.bus, (1 << 8) | QPCI_DEVFN(0, 0)));

    g_free(rp);
    ea_end(&t);
}

/* A device without x-ea has no EA capability and ordinary BARs */
static void test_no_ea(void)
{
    QPCIDevice *dev;
    EATest t;

    ea_start(&t, "-device pci-standin,id=s0,bus=pcie.0,addr=0x5,"
             "bar0-size=4K,bar2-size=1G,bar2-type=mem64-pref");
    dev = ea_find(&t, 0, 5, 0);
    g_assert_cmpint(ea_find_cap(dev, PCI_CAP_ID_EA), ==, 0);
    qpci_config_writel(dev, PCI_BASE_ADDRESS_0, 0xffffffff);
    g_assert_cmphex(qpci_config_readl(dev, PCI_BASE_ADDRESS_0), ==,
                    0xfffff000);
    qpci_config_writel(dev, PCI_BASE_ADDRESS_2, 0xffffffff);
    g_assert_cmphex(qpci_config_readl(dev, PCI_BASE_ADDRESS_2), ==,
                    0xc000000c);
    g_free(dev);
    ea_end(&t);
}

/*
 * QEMU must refuse @device with @error on stderr.  A second device that
 * cannot exist makes QEMU exit even if @device was wrongly accepted.
 */
static void ea_check_refused(const char *device, const char *error)
{
    g_autofree char *cmd = NULL;
    g_autofree char *err = NULL;
    g_auto(GStrv) argv = NULL;
    gint status;

    cmd = g_strdup_printf("%s %s -accel qtest -nodefaults -display none "
                          "-device %s -device pci-ea-test-sentinel",
                          getenv("QTEST_QEMU_BINARY"), ea_machine_args,
                          device);
    g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, NULL));
    g_assert_true(g_spawn_sync(NULL, argv, NULL,
                               G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                               NULL, &err, &status, NULL));
    if (!strstr(err, error)) {
        g_test_message("expected \"%s\" in: %s", error, err);
        g_assert_not_reached();
    }
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 1);
}

static void test_refused(void)
{
    const EAMachine *m = ea_machine();
    g_autofree char *s = NULL;
    g_autofree char *a = NULL;

    s = g_strdup_printf("pci-standin,id=ea0,bus=pcie.0,bar0-size=16M,x-ea=on,"
                        "x-ea-bar0-addr=0x%" PRIx64, m->addr32 + 4 * KiB);
    a = g_strdup_printf("ea0: x-ea-bar0-addr 0x%" PRIx64 " is not aligned to "
                        "the size 0x1000000 of BAR 0", m->addr32 + 4 * KiB);
    ea_check_refused(s, a);

    ea_check_refused("pci-standin,id=ea0,bus=pcie.0,bar0-size=16M,x-ea=on",
                     "ea0: memory BAR 0 (size 0x1000000) needs "
                     "x-ea-bar0-addr with x-ea=on");

    /* x-ea-barN-size: the size the user placed the BAR with */
    g_free(s);
    s = g_strdup_printf("pci-standin,id=ea0,bus=pcie.0,bar0-size=16M,x-ea=on,"
                        "x-ea-bar0-addr=0x%" PRIx64 ",x-ea-bar0-size=32M",
                        m->addr32);
    ea_check_refused(s, "ea0: x-ea-bar0-size 0x2000000 does not match the "
                     "size 0x1000000 of BAR 0");

    ea_check_refused("pci-standin,id=ea0,bus=pcie.0,bar0-size=16M,x-ea=on,"
                     "x-ea-bar0-size=16M",
                     "ea0: x-ea-bar0-size needs x-ea-bar0-addr");

    g_free(s);
    s = g_strdup_printf("pci-testdev,id=td0,bus=pcie.0,x-ea=on,"
                        "x-ea-bar0-addr=0x%" PRIx64 ",x-ea-bar1-addr=0x1000",
                        m->addr32);
    ea_check_refused(s, "td0: x-ea-bar1-addr given, but BAR 1 is an I/O BAR");

    g_free(s);
    s = g_strdup_printf("pci-testdev,id=td0,bus=pcie.0,x-ea=on,"
                        "x-ea-bar0-addr=0x%" PRIx64 ",x-ea-bar4-addr=0x%"
                        PRIx64, m->addr32, m->addr64);
    ea_check_refused(s, "td0: x-ea-bar4-addr given, but the device has no "
                     "BAR 4");

    g_free(s);
    s = g_strdup_printf("pci-standin,id=ea0,bus=pcie.0,bar0-size=1G,"
                        "bar0-type=mem64,x-ea=on,x-ea-bar0-addr=0x%" PRIx64
                        ",x-ea-bar1-addr=0x%" PRIx64, m->addr64,
                        m->addr64 + GiB);
    ea_check_refused(s, "ea0: x-ea-bar1-addr given, but BAR 1 is the upper "
                     "half of 64-bit BAR 0");

    /* A 32-bit BAR must stay below 4 GiB */
    g_free(s);
    g_free(a);
    s = g_strdup_printf("pci-standin,id=ea0,bus=pcie.0,bar0-size=16M,"
                        "bar0-type=mem32-pref,x-ea=on,x-ea-bar0-addr=0x%"
                        PRIx64, m->addr64);
    a = g_strdup_printf("ea0: x-ea-bar0-addr 0x%" PRIx64 " puts 32-bit BAR 0 "
                        "(size 0x1000000) above 4 GiB", m->addr64);
    ea_check_refused(s, a);

    g_free(s);
    s = g_strdup_printf("pci-testdev,bus=pcie.0,x-ea-bar0-addr=0x%" PRIx64,
                        m->addr32);
    ea_check_refused(s, "pci-testdev: x-ea-bar0-addr needs x-ea=on");

    ea_check_refused("pci-standin,id=ea0,bus=pcie.0,bar0-size=8G,"
                     "bar0-type=mem64,x-ea=on,"
                     "x-ea-bar0-addr=0xfffffffe00000000",
                     "ea0: x-ea-bar0-addr 0xfffffffe00000000 plus the size "
                     "0x200000000 of BAR 0 overflows the address space");

    /* PCIe capability (0x40..0x7b) + 132 bytes vendor data fill 0x40..0xff */
    g_free(s);
    s = g_strdup_printf("pci-standin,id=ea0,bus=pcie.0,bar0-size=16M,"
                        "vendor-cap-size=132,x-ea=on,x-ea-bar0-addr=0x%"
                        PRIx64, m->addr32);
    ea_check_refused(s, "ea0: no room for EA capability (16 bytes) in PCI "
                     "config space");
}

/* pci-standin property checks */
static void test_standin_props(void)
{
    ea_check_refused("pci-standin,id=s0,bus=pcie.0,bar0-size=3M",
                     "s0: bar0-size 0x300000 is not a power of 2");
    ea_check_refused("pci-standin,id=s0,bus=pcie.0,bar0-size=4M,"
                     "bar0-type=mem16",
                     "s0: bar0-type 'mem16' is not one of");
    ea_check_refused("pci-standin,id=s0,bus=pcie.0,bar5-size=4M,"
                     "bar5-type=mem64",
                     "s0: 64-bit BAR 5 needs two BAR slots");
    ea_check_refused("pci-standin,id=s0,bus=pcie.0,bar0-size=4M,"
                     "bar0-type=mem64,bar1-size=4K",
                     "s0: BAR 1 is the upper half of 64-bit BAR 0");
    ea_check_refused("pci-standin,id=s0,bus=pcie.0,bar0-size=4G",
                     "s0: bar0-size 0x100000000 is too large for a 32-bit "
                     "BAR");
    ea_check_refused("pci-standin,id=s0,bus=pcie.0,bar0-size=4K,"
                     "bar0-type=io",
                     "s0: bar0-size 0x1000 of an I/O BAR is not between 4 "
                     "and 256 bytes");
    ea_check_refused("pci-standin,id=s0,bus=pcie.0,bar0-size=4K,"
                     "memdev-bar=0",
                     "s0: memdev-bar given without memdev");
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);

    if (!strcmp(ea_machine()->arch, "x86_64")) {
        int fd = g_file_open_tmp("pci-ea-test-bios-XXXXXX", &ea_bios_path,
                                 NULL);

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(ftruncate(fd, 64 * KiB), ==, 0);
        close(fd);
        ea_machine_args = g_strdup_printf("%s -bios %s "
                                          "-global apic-common.vapic=off",
                                          ea_machine()->machine,
                                          ea_bios_path);
    } else {
        ea_machine_args = g_strdup(ea_machine()->machine);
    }

    qtest_add_func("/pci-ea/standin-behind-root-port",
                   test_standin_behind_root_port);
    qtest_add_func("/pci-ea/pci-testdev", test_testdev);
    if (qtest_has_device("e1000e")) {
        qtest_add_func("/pci-ea/e1000e", test_e1000e);
    }
    qtest_add_func("/pci-ea/mem64-below-4g", test_mem64_below_4g);
    if (!strcmp(ea_machine()->arch, "x86_64")) {
        qtest_add_func("/pci-ea/hotplug", test_hotplug);
    }
    qtest_add_func("/pci-ea/no-ea", test_no_ea);
    qtest_add_func("/pci-ea/refused", test_refused);
    qtest_add_func("/pci-ea/standin-props", test_standin_props);

    ret = g_test_run();

    if (ea_bios_path) {
        unlink(ea_bios_path);
        g_free(ea_bios_path);
    }
    g_free(ea_machine_args);
    return ret;
}
