//! Device hygiene: the inventory of what the device exposes, the findings about its set-up
//! and the audit trail of the monitor itself.

pub mod audit;
pub mod findings;
pub mod inventory;

#[cfg(test)]
mod tests;
