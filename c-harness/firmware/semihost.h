/*
 * The two Arm semihosting calls the test firmware needs without a C library (fault paths).
 */
#ifndef NXSM_FW_SEMIHOST_H
#define NXSM_FW_SEMIHOST_H

#include <stdint.h>

#define NXSM_SEMIHOST_SYS_WRITE0 0x04u
#define NXSM_SEMIHOST_SYS_EXIT   0x18u
/* SYS_EXIT reason "run-time error": QEMU exits with status 1. */
#define NXSM_SEMIHOST_ADP_RUNTIME_ERROR 0x20023u

static inline uint32_t nxsm_semihost_call(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

/* Prints a NUL-terminated string on the host console. */
static inline void nxsm_semihost_write0(const char *text)
{
    (void)nxsm_semihost_call(NXSM_SEMIHOST_SYS_WRITE0, text);
}

/* Ends the emulation with a failure status. */
static inline __attribute__((noreturn)) void nxsm_semihost_exit_failure(void)
{
    (void)nxsm_semihost_call(NXSM_SEMIHOST_SYS_EXIT, (const void *)(uintptr_t)NXSM_SEMIHOST_ADP_RUNTIME_ERROR);
    for (;;)
    {
    }
}

#endif /* NXSM_FW_SEMIHOST_H */
