/*
 * Host/bare-metal simulator of the ThreadX port layer (nx-security-module C harness).
 *
 * Written from the documented ThreadX API: same type names and macro names as a real
 * tx_port.h, so code that compiles here compiles against a real port. Only the part
 * the nx-security-module shim and the simulator need is provided.
 *
 * Interrupt model:
 *  - host (not bare-metal ARM): "interrupts disabled" is one process-wide lock owned by
 *    the thread that disabled them, with a per-thread posture. This behaves like a single
 *    CPU: while one thread is inside TX_DISABLE ... TX_RESTORE no other thread can be,
 *    and nesting inside one thread works because only the outermost disable takes the lock.
 *  - bare-metal ARM (Cortex-M): PRIMASK, exactly like the ThreadX Cortex-M ports.
 */
#ifndef TX_PORT_H
#define TX_PORT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C"
{
#endif

    /* Basic ThreadX data types. ULONG is 32 bits on every supported target, as NetX assumes. */
    typedef void VOID;
    typedef char CHAR;
    typedef unsigned char UCHAR;
    typedef int INT;
    typedef unsigned int UINT;
    typedef short SHORT;
    typedef unsigned short USHORT;
#if defined(__arm__)
    typedef long LONG;
    typedef unsigned long ULONG;
#else
typedef int LONG;
typedef unsigned int ULONG;
#endif
    typedef unsigned long long ULONG64;

/* Pointer-sized integer, as the 64-bit ports define it. */
#ifndef ALIGN_TYPE_DEFINED
#define ALIGN_TYPE_DEFINED
#define ALIGN_TYPE uintptr_t
#endif

/* Timer ticks per second; NetX derives NX_IP_PERIODIC_RATE from it. */
#ifndef TX_TIMER_TICKS_PER_SECOND
#define TX_TIMER_TICKS_PER_SECOND ((ULONG)100)
#endif

/* Interrupt postures accepted and returned by tx_interrupt_control(). */
#if defined(__arm__) && !defined(__linux__)
#define TX_SIM_BARE_METAL 1
#define TX_INT_DISABLE    1u /* PRIMASK set */
#define TX_INT_ENABLE     0u /* PRIMASK clear */
#else
#define TX_SIM_BARE_METAL 0
#define TX_INT_DISABLE    1u
#define TX_INT_ENABLE     0u
#endif

#if TX_SIM_BARE_METAL

    /* Reads PRIMASK and masks interrupts; returns the previous PRIMASK. */
    static inline UINT _tx_sim_primask_disable(void)
    {
        UINT primask;
        __asm volatile("mrs %0, primask" : "=r"(primask)::"memory");
        __asm volatile("cpsid i" ::: "memory");
        return primask;
    }

    /* Writes back a PRIMASK value saved by _tx_sim_primask_disable(). */
    static inline void _tx_sim_primask_restore(UINT primask)
    {
        __asm volatile("msr primask, %0" ::"r"(primask) : "memory");
    }

#define TX_INTERRUPT_SAVE_AREA UINT interrupt_save;
#define TX_DISABLE             interrupt_save = _tx_sim_primask_disable();
#define TX_RESTORE             _tx_sim_primask_restore(interrupt_save);

#else /* host */

/* Implemented in tx_sim.c: enter/leave the simulated "interrupts disabled" section. */
UINT _tx_sim_interrupt_disable(VOID);
VOID _tx_sim_interrupt_restore(UINT previous_posture);

#define TX_INTERRUPT_SAVE_AREA UINT interrupt_save;
#define TX_DISABLE             interrupt_save = _tx_sim_interrupt_disable();
#define TX_RESTORE             _tx_sim_interrupt_restore(interrupt_save);

#endif

#ifdef __cplusplus
}
#endif

#endif /* TX_PORT_H */
