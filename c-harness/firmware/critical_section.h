/*
 * critical-section 1.0 implementation of the bare-metal test firmware (PRIMASK, nestable).
 */
#ifndef NXSM_FW_CRITICAL_SECTION_H
#define NXSM_FW_CRITICAL_SECTION_H

#include <stdint.h>

/* The two symbols the Rust core's critical-section crate calls. */
void _critical_section_1_0_acquire(void);
void _critical_section_1_0_release(void);

/* Test seam: called once, with interrupts still masked, by the next outermost release,
   then cleared. The test firmware uses it to pend an interrupt that fires the moment the
   release unmasks, i.e. in the middle of a module call. */
extern void (*volatile nxsm_fw_outermost_release_hook)(void);

/* Acquires not yet released. */
uint32_t nxsm_fw_critical_section_depth(void);

/* Current PRIMASK (1 = interrupts masked). */
uint32_t nxsm_fw_primask(void);

#endif /* NXSM_FW_CRITICAL_SECTION_H */
