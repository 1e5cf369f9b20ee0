# SPDX-License-Identifier: GPL-2.0-or-later
#
# The devices the fixedBar project needs (configure --without-default-devices
# --with-devices-aarch64=fixedbar): the virt machine, the PCIe topology libvirt
# emits for EA devices, vfio-pci, and the emulated endpoints that stand in
# for assigned devices under TCG.

CONFIG_ARM_VIRT=y
CONFIG_PXB=y
CONFIG_PCIE_PORT=y
CONFIG_XIO3130=y
CONFIG_VFIO_PCI=y
CONFIG_E1000E_PCI_EXPRESS=y
CONFIG_PCI_TESTDEV=y
CONFIG_PCI_STANDIN=y
CONFIG_IVSHMEM_DEVICE=y
# What libvirt adds to every domain by default: a USB controller and a
# memory balloon.
CONFIG_USB_XHCI_PCI=y
CONFIG_VIRTIO_PCI=y
CONFIG_VIRTIO_BALLOON=y
# hw/pci-bridge/pci_expander_bridge.c always builds pxb-cxl.
CONFIG_CXL=y
CONFIG_CXL_MEM_DEVICE=y
