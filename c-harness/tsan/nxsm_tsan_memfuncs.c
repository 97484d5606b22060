/*
 * ThreadSanitizer entry points that the Rust core's instrumentation calls (LLVM turns
 * memcpy/memmove/memset into __tsan_memcpy/__tsan_memmove/__tsan_memset) but GCC 12's
 * runtime does not provide. Compiled with -fsanitize=thread, these calls reach the runtime's
 * memcpy/memmove/memset interceptors, which check the same byte ranges. Linked only into NXSM_TSAN builds.
 */
#include <stddef.h>
#include <string.h>

void *__tsan_memcpy(void *to, const void *from, size_t size);
void *__tsan_memmove(void *to, const void *from, size_t size);
void *__tsan_memset(void *to, int value, size_t size);

void *__tsan_memcpy(void *to, const void *from, size_t size)
{
    return memcpy(to, from, size);
}

void *__tsan_memmove(void *to, const void *from, size_t size)
{
    return memmove(to, from, size);
}

void *__tsan_memset(void *to, int value, size_t size)
{
    return memset(to, value, size);
}
