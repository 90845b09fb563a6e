//! Rows and the named queries over them. Handlers call these functions; they never write SQL.

pub mod organisation;
pub mod user;

pub use organisation::{NewOrganisation, Organisation};
pub use user::{EmailAddress, NewUser, User};
