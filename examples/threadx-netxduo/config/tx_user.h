/* ThreadX options of the example (TX_USER_FILE). Also read by the ports' assembly files. */
#ifndef TX_USER_H
#define TX_USER_H

/* The board's SysTick rate; NetX Duo's timeouts (NX_IP_PERIODIC_RATE) follow it. */
#define TX_TIMER_TICKS_PER_SECOND 100

/* Cortex-M33 without a secure-side stack allocator linked in: threads run non-secure only. */
#if defined(__ARM_ARCH_8M_MAIN__) || defined(__ARM_ARCH_8M_BASE__)
#define TX_SINGLE_MODE_NON_SECURE
#endif

/* NetX Duo's PTP/TSN sources use ULONG64, which the Cortex-M0 port does not define. */
#if defined(__ARM_ARCH_6M__) && !defined(__ASSEMBLER__)
typedef unsigned long long ULONG64;
#define ULONG64_DEFINED
#endif

#endif /* TX_USER_H */
