/*
 * fbmmap: the data-path check of the end-to-end test's guest.
 *
 * Usage: fbmmap /sys/bus/pci/devices/BDF/resourceN ADDRESS
 *
 * Maps the first page of the BAR through its sysfs resource file, prints
 * the first 32 bytes, writes "FB guest @ 0xADDRESS" (32 bytes, ADDRESS
 * being the BAR's guest physical address as the guest kernel has it) over
 * them and prints what reads back, all on one line:
 *
 *   read HEX wrote HEX readback HEX
 *
 * A bus error or an unusable mapping prints "fault" or the failing call.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define WORDS 4

static void fault(int sig)
{
    static const char msg[] = "fault\n";

    (void)sig;
    if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0) {
        _exit(2);
    }
    _exit(1);
}

static void print_words(const char *label, const uint64_t *words)
{
    int i;

    printf("%s ", label);
    for (i = 0; i < WORDS; i++) {
        printf("%016" PRIx64, words[i]);
    }
}

int main(int argc, char **argv)
{
    volatile uint64_t *bar;
    uint64_t before[WORDS], pattern[WORDS], after[WORDS];
    unsigned long long address;
    char text[sizeof(pattern) + 1] = { 0 };
    int fd, i;

    if (argc != 3) {
        fprintf(stderr, "usage: %s RESOURCE-FILE ADDRESS\n", argv[0]);
        return 2;
    }
    address = strtoull(argv[2], NULL, 0);
    signal(SIGBUS, fault);
    signal(SIGSEGV, fault);

    fd = open(argv[1], O_RDWR | O_SYNC);
    if (fd < 0) {
        printf("open: %s\n", strerror(errno));
        return 1;
    }
    bar = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (bar == MAP_FAILED) {
        printf("mmap: %s\n", strerror(errno));
        return 1;
    }

    snprintf(text, sizeof(text), "FB guest @ 0x%016llx", address);
    memcpy(pattern, text, sizeof(pattern));
    for (i = 0; i < WORDS; i++) {
        before[i] = bar[i];
    }
    for (i = 0; i < WORDS; i++) {
        bar[i] = pattern[i];
    }
    for (i = 0; i < WORDS; i++) {
        after[i] = bar[i];
    }

    print_words("read", before);
    print_words(" wrote", pattern);
    print_words(" readback", after);
    printf("\n");
    return 0;
}
