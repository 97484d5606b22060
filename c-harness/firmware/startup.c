/*
 * Start-up code of the QEMU test firmware (mps2-an385/an386 memory map: code at 0x0,
 * RAM at 0x20000000).
 *
 * Reset enables the FPU when the build uses one, then hands over to the C library's _start
 * (newlib crt0 from --specs=rdimon.specs): it sets up the stack and heap from semihosting,
 * zeroes .bss, runs constructors, calls main and ends QEMU with main's return value.
 * .data needs no copy: the linker script places it straight in RAM and QEMU loads it there.
 *
 * Any unexpected exception prints a TAP "not ok" line over semihosting and ends QEMU with a
 * failure status, so a fault can never look like a pass or hang a test run.
 */
#include <stdint.h>

#include "semihost.h"

extern uint32_t __StackTop; /* linker script: top of RAM */
extern void _start(void);   /* newlib crt0 */

void Reset_Handler(void);
void nxsm_fw_unexpected_exception(void);

/* Handlers a firmware may define; all others end the run. */
void NMI_Handler(void) __attribute__((weak, alias("nxsm_fw_unexpected_exception")));
void HardFault_Handler(void) __attribute__((weak, alias("nxsm_fw_unexpected_exception")));
void MemManage_Handler(void) __attribute__((weak, alias("nxsm_fw_unexpected_exception")));
void BusFault_Handler(void) __attribute__((weak, alias("nxsm_fw_unexpected_exception")));
void UsageFault_Handler(void) __attribute__((weak, alias("nxsm_fw_unexpected_exception")));
void SVC_Handler(void) __attribute__((weak, alias("nxsm_fw_unexpected_exception")));
void DebugMon_Handler(void) __attribute__((weak, alias("nxsm_fw_unexpected_exception")));
void PendSV_Handler(void) __attribute__((weak, alias("nxsm_fw_unexpected_exception")));
void SysTick_Handler(void) __attribute__((weak, alias("nxsm_fw_unexpected_exception")));

typedef void (*nxsm_fw_vector)(void);

/* The Armv7-M/Armv6-M system exceptions; no external interrupt is ever enabled. */
__attribute__((section(".isr_vector"), used)) const nxsm_fw_vector nxsm_fw_vector_table[16] = {
    (nxsm_fw_vector)(uintptr_t)&__StackTop, /* initial main stack pointer */
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    MemManage_Handler,
    BusFault_Handler,
    UsageFault_Handler,
    0,
    0,
    0,
    0,
    SVC_Handler,
    DebugMon_Handler,
    0,
    PendSV_Handler,
    SysTick_Handler,
};

__attribute__((naked, noreturn)) void Reset_Handler(void)
{
    __asm volatile(
#if defined(__ARM_FP)
        /* CPACR (0xE000ED88): full access to CP10 and CP11, before any FP instruction. */
        "ldr r0, =0xE000ED88\n"
        "ldr r1, [r0]\n"
        "orr r1, r1, #(0xF << 20)\n"
        "str r1, [r0]\n"
        "dsb\n"
        "isb\n"
#endif
        "ldr r0, =_start\n" /* bx: Armv6-M's b reaches only +-2 KiB */
        "bx r0\n"
        ".ltorg\n");
}

void nxsm_fw_unexpected_exception(void)
{
    static const char hex[] = "0123456789abcdef";
    char line[] = "not ok - unexpected exception 0x000\n";
    char *digit = line + sizeof line - 2; /* the '\n'; IPSR has 9 bits = 3 hex digits */
    uint32_t ipsr;
    __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
    for (int i = 0; i < 3; i++)
    {
        *--digit = hex[ipsr & 0xFu];
        ipsr >>= 4;
    }
    nxsm_semihost_write0(line);
    nxsm_semihost_exit_failure();
}
