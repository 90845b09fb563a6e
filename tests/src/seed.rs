//! Accounts for tests: an organisation of a kind and an active user with a known password.

use tumaini_db::country::CountryCode;
use tumaini_db::ids::{OrgId, UserId};
use tumaini_db::models::{NewOrganisation, NewUser, Organisation, User};
use tumaini_db::vocabulary::{OrganisationKind, Role, UserStatus};

use crate::TestDb;

/// The password every seeded account has.
pub const PASSWORD: &str = "a long and unusual passphrase 7";

/// A seeded account.
#[derive(Debug, Clone)]
pub struct Account {
    /// Its id.
    pub id: UserId,
    /// Its organisation.
    pub organisation_id: OrgId,
    /// Its e-mail address.
    pub email: String,
}

/// A new organisation of `kind` (named uniquely).
pub fn organisation(db: &TestDb, kind: OrganisationKind) -> OrgId {
    organisation_in(db, kind, "UG")
}

/// An active organisation of `kind` in `country` (ISO 3166-1 alpha-2).
pub fn organisation_in(db: &TestDb, kind: OrganisationKind, country: &str) -> OrgId {
    Organisation::create(
        &mut db.conn(),
        &NewOrganisation {
            name: format!("{} {}", kind.label(), uuid::Uuid::now_v7().simple()),
            kind,
            country: country.parse::<CountryCode>().expect("a country code"),
            region: "Central".to_owned(),
            services: vec![],
        },
    )
    .expect("organisation")
    .id
}

/// An active account with [`PASSWORD`] in `organisation`.
pub fn account_in(db: &TestDb, organisation: &OrgId, role: Role) -> Account {
    let email = format!(
        "{}-{}@example.test",
        role.code().replace('_', "-"),
        uuid::Uuid::now_v7().simple()
    );
    let user = User::create(
        &mut db.conn(),
        &NewUser {
            organisation_id: organisation.clone(),
            role,
            email: email.parse().expect("e-mail"),
            display_name: format!("Test {}", role.label()),
            status: UserStatus::Active,
            password_hash: Some(tumaini_api::accounts::hash_password(PASSWORD).expect("hash")),
            password_must_change: false,
        },
    )
    .expect("user");
    Account {
        id: user.id,
        organisation_id: organisation.clone(),
        email,
    }
}

/// An active account with [`PASSWORD`] in a new organisation whose kind suits the role.
pub fn account(db: &TestDb, role: Role) -> Account {
    let kind = match role {
        Role::Coordinator => OrganisationKind::CoordinationOffice,
        Role::CompetentAuthority => OrganisationKind::CompetentAuthority,
        Role::FirstResponder => OrganisationKind::Police,
        _ => OrganisationKind::Shelter,
    };
    let org = organisation(db, kind);
    account_in(db, &org, role)
}
