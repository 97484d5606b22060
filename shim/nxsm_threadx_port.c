/*
 * nx-security-module: ThreadX platform port for the core library.
 *
 * The core (a no_std Rust archive) protects its shared state with the critical-section
 * crate and expects the application to provide its two "acquire"/"release" symbols. Here
 * they disable interrupts through ThreadX, so they are safe from threads, timers and ISRs.
 *
 * Define NXSM_PROVIDE_CRITICAL_SECTION to 0 if your firmware already provides these symbols
 * (e.g. from PRIMASK on a bare-metal target, or from another critical-section user).
 */
#include "tx_api.h"

#ifndef NXSM_PROVIDE_CRITICAL_SECTION
#define NXSM_PROVIDE_CRITICAL_SECTION 1
#endif

#if NXSM_PROVIDE_CRITICAL_SECTION

/* Declared here because the core's generated header does not export them: they are
   the application's side of the contract. */
void _critical_section_1_0_acquire(void);
void _critical_section_1_0_release(void);

/* Interrupt posture to restore when the outermost section ends, and the nesting depth.
   Both are only touched with interrupts disabled, i.e. by one context at a time. */
static UINT nxsm_cs_saved_posture;
static UINT nxsm_cs_depth;

/*
 * The TX_DISABLE/TX_RESTORE macros keep the saved posture in a local variable whose name
 * is port-specific, so they cannot span two functions. tx_interrupt_control() is the
 * documented, port-independent service those macros stand for: it sets a posture and
 * returns the previous one, from any context.
 */
void _critical_section_1_0_acquire(void)
{
    UINT previous = tx_interrupt_control(TX_INT_DISABLE);

    /* Interrupts are off from here: nobody else can be in these statics. */
    if (nxsm_cs_depth == 0u)
    {
        nxsm_cs_saved_posture = previous;
    }
    nxsm_cs_depth++;
}

void _critical_section_1_0_release(void)
{
    UINT posture;

    /* An unbalanced release is a caller bug; ignoring it keeps interrupts in the state the
       outermost acquire found instead of enabling them in the middle of someone's section. */
    if (nxsm_cs_depth == 0u)
    {
        return;
    }
    nxsm_cs_depth--;
    if (nxsm_cs_depth == 0u)
    {
        posture = nxsm_cs_saved_posture;
        (void)tx_interrupt_control(posture);
    }
}

#else

/* ISO C forbids an empty translation unit. */
typedef int nxsm_threadx_port_unused;

#endif /* NXSM_PROVIDE_CRITICAL_SECTION */
