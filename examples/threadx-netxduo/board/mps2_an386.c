/*
 * Board support for QEMU's Arm MPS2 AN386 (Cortex-M4F, 25 MHz): the vector table, the reset
 * handler, the ThreadX low-level initialization and the semihosting exit on a fault.
 * The other cores this example builds for share the memory map (code at 0x0, RAM at
 * 0x20000000), so the same file links for them; only the Cortex-M4 image is run.
 *
 * printf goes to the host console over semihosting (newlib's librdimon, --specs=rdimon.specs).
 */
#include <stdint.h>
#include <stdlib.h>

#include "tx_api.h"

#define BOARD_CPU_HZ     25000000u
#define BOARD_SYSTICK_HZ TX_TIMER_TICKS_PER_SECOND

/* System control space registers used here. */
#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
#define SCB_SHPR2 (*(volatile uint32_t *)0xE000ED1Cu) /* SVCall priority in bits 31..24 */
#define SCB_SHPR3 (*(volatile uint32_t *)0xE000ED20u) /* SysTick 31..24, PendSV 23..16 */
#define SYST_CSR  (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR  (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR  (*(volatile uint32_t *)0xE000E018u)

/* Linker script symbols. */
extern uint32_t __StackTop;
extern uint32_t __data_load__, __data_start__, __data_end__;
extern uint32_t __bss_start__, __bss_end__;
extern uint32_t __free_ram_start__;

/* ThreadX kernel variables the port leaves to the board. */
extern VOID *_tx_thread_system_stack_ptr;
extern VOID *_tx_initialize_unused_memory;
/* ThreadX port: the tick routine and the context switch. */
extern VOID _tx_timer_interrupt(VOID);
extern void PendSV_Handler(void);

extern int main(void);
extern void initialise_monitor_handles(void);
extern void __libc_init_array(void);

void Reset_Handler(void);
void SysTick_Handler(void);
void board_fault(void);

/* Weak: a port that brings its own handler (the Cortex-M33 port's SVC_Handler) wins. */
void NMI_Handler(void) __attribute__((weak, alias("board_fault")));
void HardFault_Handler(void) __attribute__((weak, alias("board_fault")));
void MemManage_Handler(void) __attribute__((weak, alias("board_fault")));
void BusFault_Handler(void) __attribute__((weak, alias("board_fault")));
void UsageFault_Handler(void) __attribute__((weak, alias("board_fault")));
void SVC_Handler(void) __attribute__((weak, alias("board_fault")));
void DebugMon_Handler(void) __attribute__((weak, alias("board_fault")));

typedef void (*board_vector)(void);

/* System exceptions only: the RAM network driver needs no device interrupt. */
__attribute__((section(".isr_vector"), used)) const board_vector board_vectors[16] = {
    (board_vector)(uintptr_t)&__StackTop,
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

void Reset_Handler(void)
{
#if defined(__ARM_FP)
    /* CP10/CP11 full access before the first floating-point instruction. */
    SCB_CPACR |= 0xFu << 20;
    __asm volatile("dsb\n isb" ::: "memory");
#endif
    /* .data is stored in flash after the code (the linker script's AT> FLASH). */
    for (uint32_t *from = &__data_load__, *to = &__data_start__; to < &__data_end__;)
        *to++ = *from++;
    for (uint32_t *to = &__bss_start__; to < &__bss_end__;)
        *to++ = 0;
    initialise_monitor_handles();
    __libc_init_array();
    exit(main());
}

/* Called by tx_kernel_enter() with interrupts disabled, before tx_application_define(). */
VOID _tx_initialize_low_level(VOID)
{
    __asm volatile("cpsid i" ::: "memory");
    /* Interrupts run on the main stack the reset started with. */
    _tx_thread_system_stack_ptr = (VOID *)&__StackTop;
    _tx_initialize_unused_memory = (VOID *)&__free_ram_start__;
    /* PendSV (the context switch) and SVCall at the lowest priority, so a switch never
       preempts an interrupt handler; SysTick above them. Word accesses: Armv6-M has no
       byte access to these registers. */
    SCB_SHPR2 = 0xFFu << 24;
    SCB_SHPR3 = (0x40u << 24) | (0xFFu << 16);
    /* The ThreadX tick from the core clock. */
    SYST_RVR = BOARD_CPU_HZ / BOARD_SYSTICK_HZ - 1u;
    SYST_CVR = 0;
    SYST_CSR = 0x7u; /* core clock, interrupt, enable */
}

void SysTick_Handler(void)
{
    _tx_timer_interrupt();
}

/* Any unexpected exception ends the emulation with a failure status, so a fault can never
   look like a pass or hang the test. */
void board_fault(void)
{
    static const char message[] = "not ok - unexpected exception\n";
    register uint32_t r0 __asm("r0") = 0x04u; /* SYS_WRITE0 */
    register const void *r1 __asm("r1") = message;
    __asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    r0 = 0x18u; /* SYS_EXIT, ADP_Stopped_RunTimeError */
    r1 = (const void *)0x20023u;
    __asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    for (;;)
    {
    }
}
