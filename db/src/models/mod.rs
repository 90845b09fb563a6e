//! Rows and the named queries over them. Handlers call these functions; they never write SQL.

pub mod account_token;
pub mod anonymous;
pub mod api_client;
pub mod assignment;
pub mod audit;
pub mod audit_lists;
pub mod break_glass;
pub mod bulk;
pub mod case;
pub mod case_facts;
pub mod case_record;
pub mod consent;
pub mod document;
pub mod duplicate;
pub mod follow_up;
pub mod idempotency;
pub mod lifecycle;
pub mod monitoring;
pub mod organisation;
pub mod outbox;
pub mod recovery_code;
pub mod referral;
pub mod restriction;
pub mod retention;
pub mod session;
pub mod statistics;
pub mod transfer;
pub mod user;
pub mod webhook;
pub mod work;

pub use api_client::{ApiClient, ClientSecret, NewApiClient, SecretToStore};
pub use organisation::{
    DirectorySearch, ListingTerms, NewOrganisation, Organisation, ServiceListing,
};
pub use session::{RefreshOutcome, Session};
pub use user::{Credentials, EmailAddress, FailedLogin, NewUser, Throttle, User};
