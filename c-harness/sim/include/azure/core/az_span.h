/*
 * Simulator of the Azure SDK for C span type (nx-security-module C harness): a pointer and
 * a length, reached through az_span_ptr()/az_span_size() as in the SDK.
 */
#ifndef _az_SPAN_H
#define _az_SPAN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C"
{
#endif

    typedef struct
    {
        struct
        {
            uint8_t *ptr;
            int32_t size;
        } _internal;
    } az_span;

    /* The span's first byte (may be NULL for an empty span). */
    static inline uint8_t *az_span_ptr(az_span span)
    {
        return span._internal.ptr;
    }

    /* The span's length in bytes. */
    static inline int32_t az_span_size(az_span span)
    {
        return span._internal.size;
    }

    /* A span over size bytes at ptr. */
    static inline az_span az_span_create(uint8_t *ptr, int32_t size)
    {
        az_span span;
        span._internal.ptr = ptr;
        span._internal.size = size;
        return span;
    }

#ifdef __cplusplus
}
#endif

#endif /* _az_SPAN_H */
