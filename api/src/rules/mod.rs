//! Workflow rules as plain functions: state machines, consent, references, screening and
//! deadlines. No HTTP and no database here, so every rule is testable on its own.

pub mod consent;
pub mod deadlines;
pub mod lifecycle;
pub mod reference;
pub mod referral;
pub mod screening;
pub mod transfer;
