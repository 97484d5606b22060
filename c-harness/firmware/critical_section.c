/*
 * critical-section 1.0 for the bare-metal test firmware (no RTOS): PRIMASK.
 *
 * The Rust core is built with critical-section's "restore-state none", so acquire returns
 * nothing and release takes nothing. Sections nest: the outermost acquire saves PRIMASK
 * and masks interrupts, inner ones only count, and the outermost release puts back what was
 * saved (interrupts stay masked if they already were). Both run with interrupts masked
 * while they touch the counter, so an interrupt handler may nest its own sections.
 */
#include <stddef.h>
#include <stdint.h>

#include "critical_section.h"

static uint32_t nesting;       /* acquires not yet released */
static uint32_t saved_primask; /* PRIMASK before the outermost acquire */

void (*volatile nxsm_fw_outermost_release_hook)(void);

void _critical_section_1_0_acquire(void)
{
    uint32_t primask;
    __asm volatile("mrs %0, primask\n"
                   "cpsid i"
                   : "=r"(primask)::"memory");
    if (nesting++ == 0)
    {
        saved_primask = primask;
    }
}

void _critical_section_1_0_release(void)
{
    if (nesting == 0)
    {
        return; /* unbalanced release: never unmask what nobody masked */
    }
    if (--nesting != 0)
    {
        return;
    }
    const uint32_t restore = saved_primask; /* before the hook: it may nest a section */
    void (*hook)(void) = nxsm_fw_outermost_release_hook;
    if (hook != NULL)
    {
        nxsm_fw_outermost_release_hook = NULL;
        hook();
    }
    __asm volatile("msr primask, %0\n"
                   "isb" ::"r"(restore)
                   : "memory");
}

uint32_t nxsm_fw_critical_section_depth(void)
{
    return nesting;
}

uint32_t nxsm_fw_primask(void)
{
    uint32_t primask;
    __asm volatile("mrs %0, primask" : "=r"(primask));
    return primask;
}
