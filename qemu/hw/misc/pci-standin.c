/*
 * PCI stand-in endpoint: a device with a configurable BAR layout that
 * stands in for an assigned device in tests (see docs/specs/pci-standin.rst)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/units.h"
#include "qemu/module.h"
#include "qapi/error.h"
#include "hw/pci/pci_device.h"
#include "hw/pci/pcie.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "system/hostmem.h"
#include "qom/object.h"

#define TYPE_PCI_STANDIN "pci-standin"
OBJECT_DECLARE_TYPE(PCIStandinState, PCIStandinClass, PCI_STANDIN)

/* Value of the naturally aligned 64-bit word at @offset of the background */
#define PCI_STANDIN_PATTERN(bar, offset) \
    (0x5354000000000000ULL | ((uint64_t)(bar) << 40) | \
     ((offset) & 0xfffffffff8ULL))

#define PCI_STANDIN_NO_BAR 0xff

typedef struct PCIStandinBar {
    int nr;
    uint64_t size;
    char *type;
    uint8_t attr;
    MemoryRegion container;
    MemoryRegion background;
} PCIStandinBar;

struct PCIStandinState {
    PCIDevice parent_obj;

    PCIStandinBar bars[PCI_ROM_SLOT];
    HostMemoryBackend *memdev;
    uint8_t memdev_bar;
    uint8_t vendor_cap_size;
};

struct PCIStandinClass {
    PCIDeviceClass parent_class;

    DeviceRealize parent_realize;
};

static const struct {
    const char *name;
    uint8_t attr;
} pci_standin_bar_types[] = {
    { "mem32", PCI_BASE_ADDRESS_SPACE_MEMORY },
    { "mem32-pref", PCI_BASE_ADDRESS_MEM_PREFETCH },
    { "mem64", PCI_BASE_ADDRESS_MEM_TYPE_64 },
    { "mem64-pref", PCI_BASE_ADDRESS_MEM_TYPE_64 |
                    PCI_BASE_ADDRESS_MEM_PREFETCH },
    { "io", PCI_BASE_ADDRESS_SPACE_IO },
};

static uint64_t pci_standin_read(void *opaque, hwaddr addr, unsigned size)
{
    PCIStandinBar *bar = opaque;
    uint64_t val = 0;
    unsigned i;

    for (i = 0; i < size; i++) {
        hwaddr a = addr + i;
        uint64_t word = PCI_STANDIN_PATTERN(bar->nr, a);

        val |= ((word >> ((a & 7) * 8)) & 0xff) << (i * 8);
    }
    return val;
}

static void pci_standin_write(void *opaque, hwaddr addr, uint64_t val,
                              unsigned size)
{
    /* The background ignores writes */
}

static const MemoryRegionOps pci_standin_ops = {
    .read = pci_standin_read,
    .write = pci_standin_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 1,
        .max_access_size = 8,
    },
    .impl = {
        .min_access_size = 1,
        .max_access_size = 8,
    },
};

static const char *pci_standin_name(PCIStandinState *s)
{
    DeviceState *dev = DEVICE(s);

    return dev->id ? dev->id : TYPE_PCI_STANDIN;
}

/* Check one BAR's properties and fill in its attributes */
static bool pci_standin_check_bar(PCIStandinState *s, int nr, Error **errp)
{
    PCIStandinBar *bar = &s->bars[nr];
    const char *name = pci_standin_name(s);
    int i;

    if (!bar->size) {
        if (bar->type) {
            error_setg(errp, "%s: bar%d-type given without bar%d-size",
                       name, nr, nr);
            return false;
        }
        return true;
    }

    bar->attr = PCI_BASE_ADDRESS_SPACE_MEMORY;
    if (bar->type) {
        for (i = 0; i < ARRAY_SIZE(pci_standin_bar_types); i++) {
            if (!strcmp(bar->type, pci_standin_bar_types[i].name)) {
                break;
            }
        }
        if (i == ARRAY_SIZE(pci_standin_bar_types)) {
            error_setg(errp, "%s: bar%d-type '%s' is not one of mem32, "
                       "mem32-pref, mem64, mem64-pref, io", name, nr,
                       bar->type);
            return false;
        }
        bar->attr = pci_standin_bar_types[i].attr;
    }

    if (!is_power_of_2(bar->size)) {
        error_setg(errp, "%s: bar%d-size 0x%" PRIx64 " is not a power of 2",
                   name, nr, bar->size);
        return false;
    }
    if (bar->attr & PCI_BASE_ADDRESS_SPACE_IO) {
        if (bar->size < 4 || bar->size > 256) {
            error_setg(errp, "%s: bar%d-size 0x%" PRIx64 " of an I/O BAR "
                       "is not between 4 and 256 bytes", name, nr, bar->size);
            return false;
        }
    } else if (bar->size < 16) {
        error_setg(errp, "%s: bar%d-size 0x%" PRIx64 " of a memory BAR is "
                   "below 16 bytes", name, nr, bar->size);
        return false;
    } else if (bar->attr & PCI_BASE_ADDRESS_MEM_TYPE_64) {
        if (nr == PCI_ROM_SLOT - 1) {
            error_setg(errp, "%s: 64-bit BAR %d needs two BAR slots, but it "
                       "is the last BAR", name, nr);
            return false;
        }
        if (s->bars[nr + 1].size || s->bars[nr + 1].type) {
            error_setg(errp, "%s: BAR %d is the upper half of 64-bit BAR %d "
                       "and cannot be configured", name, nr + 1, nr);
            return false;
        }
        if (bar->size > (1ULL << 63)) {
            error_setg(errp, "%s: bar%d-size 0x%" PRIx64 " is too large",
                       name, nr, bar->size);
            return false;
        }
    } else if (bar->size > 2 * GiB) {
        error_setg(errp, "%s: bar%d-size 0x%" PRIx64 " is too large for a "
                   "32-bit BAR", name, nr, bar->size);
        return false;
    }
    return true;
}

static void pci_standin_qdev_realize(DeviceState *dev, Error **errp)
{
    PCIStandinClass *psc = PCI_STANDIN_GET_CLASS(dev);
    PCIDevice *pdev = PCI_DEVICE(dev);

    /* A hybrid device: PCI Express on an Express bus, conventional else */
    if (pci_bus_is_express(pci_get_bus(pdev))) {
        pdev->cap_present |= QEMU_PCI_CAP_EXPRESS;
    }
    psc->parent_realize(dev, errp);
}

static void pci_standin_realize(PCIDevice *pdev, Error **errp)
{
    PCIStandinState *s = PCI_STANDIN(pdev);
    const char *name = pci_standin_name(s);
    MemoryRegion *ram = NULL;
    int cap_offset = PCI_CONFIG_HEADER_SIZE;
    int nr, ret;

    for (nr = 0; nr < PCI_ROM_SLOT; nr++) {
        if (!pci_standin_check_bar(s, nr, errp)) {
            return;
        }
    }

    if (s->memdev) {
        PCIStandinBar *bar;

        if (s->memdev_bar >= PCI_ROM_SLOT || !s->bars[s->memdev_bar].size) {
            error_setg(errp, "%s: memdev-bar %d is not a configured BAR",
                       name, s->memdev_bar);
            return;
        }
        bar = &s->bars[s->memdev_bar];
        if (bar->attr & PCI_BASE_ADDRESS_SPACE_IO) {
            error_setg(errp, "%s: memdev-bar %d is an I/O BAR", name,
                       s->memdev_bar);
            return;
        }
        if (host_memory_backend_is_mapped(s->memdev)) {
            error_setg(errp, "%s: memdev '%s' is already in use", name,
                       object_get_canonical_path_component(
                           OBJECT(s->memdev)));
            return;
        }
        ram = host_memory_backend_get_memory(s->memdev);
        if (memory_region_size(ram) > bar->size) {
            error_setg(errp, "%s: memdev size 0x%" PRIx64 " exceeds the "
                       "size 0x%" PRIx64 " of BAR %d", name,
                       memory_region_size(ram), bar->size, s->memdev_bar);
            return;
        }
    } else if (s->memdev_bar != PCI_STANDIN_NO_BAR) {
        error_setg(errp, "%s: memdev-bar given without memdev", name);
        return;
    }

    if (pci_is_express(pdev)) {
        ret = pcie_endpoint_cap_init(pdev, cap_offset);
        if (ret < 0) {
            error_setg(errp, "%s: cannot add the PCI Express capability",
                       name);
            return;
        }
        pcie_cap_deverr_init(pdev);
        cap_offset += PCI_EXP_VER2_SIZEOF;
    }

    /* Models a physical device with vendor data filling config space */
    if (s->vendor_cap_size) {
        if (s->vendor_cap_size < PCI_CAP_FLAGS + 1 ||
            s->vendor_cap_size > PCI_CONFIG_SPACE_SIZE - cap_offset) {
            error_setg(errp, "%s: vendor-cap-size %d is not between %d and "
                       "%d", name, s->vendor_cap_size, PCI_CAP_FLAGS + 1,
                       PCI_CONFIG_SPACE_SIZE - cap_offset);
            return;
        }
        ret = pci_add_capability(pdev, PCI_CAP_ID_VNDR, cap_offset,
                                 s->vendor_cap_size, errp);
        if (ret < 0) {
            return;
        }
        pci_set_byte(pdev->config + ret + PCI_CAP_FLAGS, s->vendor_cap_size);
    }

    pci_config_set_interrupt_pin(pdev->config, 0);

    for (nr = 0; nr < PCI_ROM_SLOT; nr++) {
        PCIStandinBar *bar = &s->bars[nr];
        g_autofree char *container_name = NULL;
        g_autofree char *background_name = NULL;

        if (!bar->size) {
            continue;
        }
        bar->nr = nr;
        container_name = g_strdup_printf("pci-standin-bar%d", nr);
        memory_region_init(&bar->container, OBJECT(s), container_name,
                           bar->size);
        background_name = g_strdup_printf("pci-standin-bar%d-mmio", nr);
        memory_region_init_io(&bar->background, OBJECT(s), &pci_standin_ops,
                              bar, background_name, bar->size);
        memory_region_add_subregion(&bar->container, 0, &bar->background);
        if (ram && nr == s->memdev_bar) {
            memory_region_add_subregion_overlap(&bar->container, 0, ram, 1);
            host_memory_backend_set_mapped(s->memdev, true);
            vmstate_register_ram(ram, DEVICE(s));
        }
        pci_register_bar(pdev, nr, bar->attr, &bar->container);
    }
}

static void pci_standin_exit(PCIDevice *pdev)
{
    PCIStandinState *s = PCI_STANDIN(pdev);
    int nr;

    if (s->memdev && host_memory_backend_is_mapped(s->memdev)) {
        MemoryRegion *ram = host_memory_backend_get_memory(s->memdev);

        vmstate_unregister_ram(ram, DEVICE(s));
        memory_region_del_subregion(&s->bars[s->memdev_bar].container, ram);
        host_memory_backend_set_mapped(s->memdev, false);
    }
    /* The subregions hold references to the device: drop them */
    for (nr = 0; nr < PCI_ROM_SLOT; nr++) {
        if (s->bars[nr].size) {
            memory_region_del_subregion(&s->bars[nr].container,
                                        &s->bars[nr].background);
        }
    }
    if (pci_is_express(pdev)) {
        pcie_cap_exit(pdev);
    }
}

static const VMStateDescription vmstate_pci_standin = {
    .name = TYPE_PCI_STANDIN,
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_PCI_DEVICE(parent_obj, PCIStandinState),
        VMSTATE_END_OF_LIST()
    }
};

static const Property pci_standin_properties[] = {
    DEFINE_PROP_SIZE("bar0-size", PCIStandinState, bars[0].size, 0),
    DEFINE_PROP_STRING("bar0-type", PCIStandinState, bars[0].type),
    DEFINE_PROP_SIZE("bar1-size", PCIStandinState, bars[1].size, 0),
    DEFINE_PROP_STRING("bar1-type", PCIStandinState, bars[1].type),
    DEFINE_PROP_SIZE("bar2-size", PCIStandinState, bars[2].size, 0),
    DEFINE_PROP_STRING("bar2-type", PCIStandinState, bars[2].type),
    DEFINE_PROP_SIZE("bar3-size", PCIStandinState, bars[3].size, 0),
    DEFINE_PROP_STRING("bar3-type", PCIStandinState, bars[3].type),
    DEFINE_PROP_SIZE("bar4-size", PCIStandinState, bars[4].size, 0),
    DEFINE_PROP_STRING("bar4-type", PCIStandinState, bars[4].type),
    DEFINE_PROP_SIZE("bar5-size", PCIStandinState, bars[5].size, 0),
    DEFINE_PROP_STRING("bar5-type", PCIStandinState, bars[5].type),
    DEFINE_PROP_LINK("memdev", PCIStandinState, memdev,
                     TYPE_MEMORY_BACKEND, HostMemoryBackend *),
    DEFINE_PROP_UINT8("memdev-bar", PCIStandinState, memdev_bar,
                      PCI_STANDIN_NO_BAR),
    DEFINE_PROP_UINT8("vendor-cap-size", PCIStandinState, vendor_cap_size, 0),
};

static void pci_standin_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);
    PCIStandinClass *psc = PCI_STANDIN_CLASS(klass);

    device_class_set_parent_realize(dc, pci_standin_qdev_realize,
                                    &psc->parent_realize);
    k->realize = pci_standin_realize;
    k->exit = pci_standin_exit;
    k->vendor_id = PCI_VENDOR_ID_REDHAT;
    k->device_id = PCI_DEVICE_ID_REDHAT_STANDIN;
    k->revision = 0x00;
    k->class_id = PCI_CLASS_OTHERS;
    dc->desc = "PCI stand-in endpoint with a configurable BAR layout";
    dc->vmsd = &vmstate_pci_standin;
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    device_class_set_props(dc, pci_standin_properties);
}

static const TypeInfo pci_standin_info = {
    .name          = TYPE_PCI_STANDIN,
    .parent        = TYPE_PCI_DEVICE,
    .instance_size = sizeof(PCIStandinState),
    .class_size    = sizeof(PCIStandinClass),
    .class_init    = pci_standin_class_init,
    .interfaces = (InterfaceInfo[]) {
        { INTERFACE_PCIE_DEVICE },
        { INTERFACE_CONVENTIONAL_PCI_DEVICE },
        { },
    },
};

static void pci_standin_register_types(void)
{
    type_register_static(&pci_standin_info);
}

type_init(pci_standin_register_types)
