/*
 * Simulated wall clock and sim_reset() (nx-security-module C harness).
 */
#include "sim_control.h"
#include "sim_internal.h"

/* The clock the application's unix time callback reports; guarded by TX_DISABLE so a test
   thread can move time while another thread reads it. */
static ULONG sim_time_value = SIM_DEFAULT_UNIX_TIME;
static UINT sim_time_ok = 1;
static ULONG sim_time_calls;

VOID sim_clock_reset(VOID)
{
    TX_INTERRUPT_SAVE_AREA

    TX_DISABLE
    sim_time_value = SIM_DEFAULT_UNIX_TIME;
    sim_time_ok = 1;
    sim_time_calls = 0;
    TX_RESTORE
}

VOID sim_reset(VOID)
{
    sim_clock_reset();
    sim_ip_reset();
    sim_cloud_reset();
    sim_hub_reset();
}

VOID sim_set_unix_time(UINT ok, ULONG value)
{
    TX_INTERRUPT_SAVE_AREA

    TX_DISABLE
    sim_time_ok = ok ? 1u : 0u;
    sim_time_value = value;
    TX_RESTORE
}

VOID sim_advance_time(ULONG seconds)
{
    TX_INTERRUPT_SAVE_AREA

    TX_DISABLE
    sim_time_value += seconds;
    TX_RESTORE
}

ULONG sim_unix_time_value(VOID)
{
    TX_INTERRUPT_SAVE_AREA
    ULONG value;

    TX_DISABLE
    value = sim_time_value;
    TX_RESTORE
    return value;
}

UINT sim_unix_time_get(ULONG *unix_time)
{
    TX_INTERRUPT_SAVE_AREA
    UINT ok;
    ULONG value;

    TX_DISABLE
    sim_time_calls++;
    ok = sim_time_ok;
    value = sim_time_value;
    TX_RESTORE

    if (unix_time == NX_NULL)
    {
        return NX_AZURE_IOT_INVALID_PARAMETER;
    }
    if (!ok)
    {
        return NX_AZURE_IOT_FAILURE;
    }
    *unix_time = value;
    return NX_AZURE_IOT_SUCCESS;
}

ULONG sim_unix_time_calls(VOID)
{
    TX_INTERRUPT_SAVE_AREA
    ULONG calls;

    TX_DISABLE
    calls = sim_time_calls;
    TX_RESTORE
    return calls;
}
