//! Authorization: every request's decision comes from the Cedar policies in `policies/`.
//!
//! The policy set is embedded in the binary (or read from `TUMAINI_POLICY_DIR`), validated
//! against the schema in strict mode at start (an invalid policy stops the server), and each
//! policy is known by its `@id`. A decision carries the ids of the policies that made it, for
//! the audit event. Evaluation fails closed: if any policy errors, the answer is deny.

mod facts;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::str::FromStr;

use anyhow::Context as _;

use cedar_policy::{
    ActionConstraint, Authorizer as CedarAuthorizer, Decision as CedarDecision, Effect, Entities,
    EntityUid, Policy, PolicyId, PolicySet, Request, Schema, ValidationMode, Validator,
};

/// Whether a policy permits through break-glass: it opens break-glass, or its condition reads
/// `context.break_glass` (in whatever form the text spells it). Such a policy must be annotated
/// `@severity("high")`.
fn grants_through_break_glass(policy: &Policy) -> bool {
    let text = policy.to_string();
    policy.effect() == Effect::Permit
        && (text.contains("break_glass") || text.contains("OpenBreakGlass"))
}

pub use facts::{
    AccessContext, Action, CaseFacts, ClientFacts, FieldGroup, OrganisationFacts, PrincipalFacts,
    ReferralFacts, Resource, Subject, TransferFacts,
};

const EMBEDDED_SCHEMA: &str = include_str!("../../../policies/schema.cedarschema");
const EMBEDDED_POLICIES: &[(&str, &str)] = &[
    (
        "guards.cedar",
        include_str!("../../../policies/guards.cedar"),
    ),
    ("cases.cedar", include_str!("../../../policies/cases.cedar")),
    (
        "referrals.cedar",
        include_str!("../../../policies/referrals.cedar"),
    ),
    (
        "administration.cedar",
        include_str!("../../../policies/administration.cedar"),
    ),
    (
        "clients.cedar",
        include_str!("../../../policies/clients.cedar"),
    ),
    (
        "lifecycle.cedar",
        include_str!("../../../policies/lifecycle.cedar"),
    ),
    (
        "transfers.cedar",
        include_str!("../../../policies/transfers.cedar"),
    ),
];

/// The outcome of one authorization question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the action may go ahead.
    pub allowed: bool,
    /// The `@id`s of the policies that decided (the permits that allowed it, or the forbids that
    /// refused it; empty for a default deny).
    pub policy_ids: Vec<String>,
    /// The action was allowed by a policy annotated `@severity("high")` (break-glass): its
    /// audit event is high-severity, whatever the policy is called.
    pub high_severity: bool,
}

impl Decision {
    /// A refusal no policy made: nothing permits (or nothing was there to decide on).
    pub const fn default_deny() -> Self {
        Self {
            allowed: false,
            policy_ids: Vec::new(),
            high_severity: false,
        }
    }

    /// `allow` or `deny`, for the audit event.
    pub fn code(&self) -> &'static str {
        if self.allowed { "allow" } else { "deny" }
    }
}

/// Why the policies could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A file could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The schema does not parse.
    #[error("the policy schema is invalid: {0}")]
    Schema(String),
    /// A policy does not parse.
    #[error("{file}: {reason}")]
    Parse {
        /// The file.
        file: String,
        /// The parser's message.
        reason: String,
    },
    /// A policy has no `@id`, or two share one.
    #[error("{0}")]
    Ids(String),
    /// Strict validation against the schema failed.
    #[error("the policies do not validate against the schema:\n{0}")]
    Validation(String),
}

/// The validated policy set and its schema.
pub struct Authorizer {
    schema: Schema,
    policies: PolicySet,
    cedar: CedarAuthorizer,
    /// The action hierarchy from the schema, computed once.
    actions: Entities,
    /// For each action, the policies whose action scope admits it: a decision evaluates only
    /// those (the others cannot apply to it), which gives the same answer for less work.
    by_action: HashMap<Action, PolicySet>,
    /// The ids of the policies annotated `@severity("high")`.
    high_severity: HashSet<String>,
}

impl std::fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorizer")
            .field("policies", &self.policies.policies().count())
            .finish_non_exhaustive()
    }
}

impl Authorizer {
    /// The policy set: from `TUMAINI_POLICY_DIR` when set, else the embedded one; either way
    /// validated in strict mode, so an invalid policy stops the server with a clear message.
    pub fn from_config(config: &crate::config::Config) -> anyhow::Result<Self> {
        let authorizer = match &config.policy_dir {
            Some(dir) => Self::from_dir(dir)
                .with_context(|| format!("loading the policies in {}", dir.display()))?,
            None => Self::embedded().context("loading the embedded policies")?,
        };
        tracing::info!(
            policies = authorizer.policy_ids().len(),
            "access policies validated"
        );
        Ok(authorizer)
    }

    /// The policies embedded in the binary.
    pub fn embedded() -> Result<Self, PolicyError> {
        let files: Vec<(String, String)> = EMBEDDED_POLICIES
            .iter()
            .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
            .collect();
        Self::from_sources(EMBEDDED_SCHEMA, &files)
    }

    /// The policies in a directory: `schema.cedarschema` and every `*.cedar` file.
    pub fn from_dir(dir: &Path) -> Result<Self, PolicyError> {
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|e| PolicyError::Read {
                path: path.display().to_string(),
                reason: e.to_string(),
            })
        };
        let schema = read(&dir.join("schema.cedarschema"))?;
        let mut files = Vec::new();
        let entries = std::fs::read_dir(dir).map_err(|e| PolicyError::Read {
            path: dir.display().to_string(),
            reason: e.to_string(),
        })?;
        let mut paths: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "cedar"))
            .collect();
        paths.sort();
        for path in paths {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            files.push((name, read(&path)?));
        }
        Self::from_sources(&schema, &files)
    }

    /// Parses, names (by `@id`) and strictly validates a policy set.
    pub fn from_sources(
        schema_text: &str,
        files: &[(String, String)],
    ) -> Result<Self, PolicyError> {
        let (schema, _warnings) = Schema::from_cedarschema_str(schema_text)
            .map_err(|e| PolicyError::Schema(format!("{e:?}")))?;
        let mut policies = PolicySet::new();
        let mut seen = HashSet::new();
        let mut high_severity = HashSet::new();
        for (file, text) in files {
            let parsed = PolicySet::from_str(text).map_err(|e| PolicyError::Parse {
                file: file.clone(),
                reason: format!("{e:?}"),
            })?;
            for policy in parsed.policies() {
                let Some(id) = policy.annotation("id") else {
                    return Err(PolicyError::Ids(format!(
                        "{file}: a policy has no @id annotation"
                    )));
                };
                let severity = policy.annotation("severity");
                if severity != Some("high") && grants_through_break_glass(policy) {
                    return Err(PolicyError::Ids(format!(
                        "{file}: the policy {id} grants through break-glass and must be annotated \
                         @severity(\"high\"), so that what it allows is a high-severity event"
                    )));
                }
                match severity {
                    None | Some("normal") => {}
                    Some("high") => {
                        high_severity.insert(id.to_owned());
                    }
                    Some(_) => {
                        return Err(PolicyError::Ids(format!(
                            "{file}: the policy {id} has a @severity other than \"high\" or \"normal\""
                        )));
                    }
                }
                if !seen.insert(id.to_owned()) {
                    return Err(PolicyError::Ids(format!(
                        "{file}: the policy id {id} is used twice"
                    )));
                }
                policies
                    .add(policy.new_id(PolicyId::new(id)))
                    .map_err(|e| PolicyError::Ids(format!("{file}: {e}")))?;
            }
        }
        let result = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        if !result.validation_passed() {
            let errors: Vec<String> = result
                .validation_errors()
                .map(|e| format!("  - {e}"))
                .collect();
            return Err(PolicyError::Validation(errors.join("\n")));
        }
        let actions = schema
            .action_entities()
            .map_err(|e| PolicyError::Schema(format!("{e:?}")))?;
        let by_action = Action::ALL
            .iter()
            .map(|&action| {
                let uid = action_uid(action).map_err(PolicyError::Schema)?;
                let mut admitted = PolicySet::new();
                for policy in policies.policies() {
                    if scope_admits(&policy.action_constraint(), &uid, &actions) {
                        admitted
                            .add(policy.clone())
                            .map_err(|e| PolicyError::Ids(e.to_string()))?;
                    }
                }
                Ok((action, admitted))
            })
            .collect::<Result<HashMap<_, _>, PolicyError>>()?;
        Ok(Self {
            schema,
            policies,
            cedar: CedarAuthorizer::new(),
            actions,
            by_action,
            high_severity,
        })
    }

    /// Every policy id, sorted.
    pub fn policy_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .policies
            .policies()
            .map(|p| p.id().to_string())
            .collect();
        ids.sort();
        ids
    }

    /// May `principal` do `action` to `resource` in `context`?
    pub fn decide<'p>(
        &self,
        principal: impl Into<Subject<'p>>,
        action: Action,
        resource: &Resource<'_>,
        context: &AccessContext,
    ) -> Decision {
        let principal = principal.into();
        let prepared = self.prepare(principal, resource);
        self.decide_prepared(&prepared, principal, action, resource, context)
    }

    /// The entities of one principal and one resource, built once for the several decisions
    /// a request makes about them (a case read asks about the summary and each group).
    pub fn prepare<'p>(
        &self,
        principal: impl Into<Subject<'p>>,
        resource: &Resource<'_>,
    ) -> Prepared {
        let principal = principal.into();
        // The facts are typed Rust values, built by `facts`; they join the action hierarchy
        // (computed once from the schema).
        Prepared(facts::entities(principal, resource).and_then(|facts| {
            self.actions
                .clone()
                .add_entities(facts, None)
                .map_err(|e| format!("{e:?}"))
        }))
    }

    /// [`Authorizer::decide`] over entities prepared for this principal and resource.
    pub fn decide_prepared<'p>(
        &self,
        prepared: &Prepared,
        principal: impl Into<Subject<'p>>,
        action: Action,
        resource: &Resource<'_>,
        context: &AccessContext,
    ) -> Decision {
        let principal = principal.into();
        match self.try_decide(prepared, principal, action, resource, context) {
            Ok(decision) => decision,
            Err(reason) => {
                tracing::error!(action = action.name(), %reason, "authorization failed closed");
                Decision::default_deny()
            }
        }
    }

    fn try_decide(
        &self,
        prepared: &Prepared,
        principal: Subject<'_>,
        action: Action,
        resource: &Resource<'_>,
        context: &AccessContext,
    ) -> Result<Decision, String> {
        let entities = prepared.0.as_ref().map_err(Clone::clone)?;
        let policies = self
            .by_action
            .get(&action)
            .ok_or_else(|| format!("no policy set for {}", action.name()))?;
        // The request and its context are checked against the schema.
        let request = Request::new(
            facts::principal_uid(principal),
            action_uid(action)?,
            resource.uid(),
            context.to_context(action)?,
            Some(&self.schema),
        )
        .map_err(|e| format!("{e:?}"))?;
        let response = self.cedar.is_authorized(&request, policies, entities);
        let errors: Vec<String> = response
            .diagnostics()
            .errors()
            .map(|e| e.to_string())
            .collect();
        if !errors.is_empty() {
            return Err(errors.join("; "));
        }
        let mut policy_ids: Vec<String> = response
            .diagnostics()
            .reason()
            .map(ToString::to_string)
            .collect();
        policy_ids.sort();
        let allowed = response.decision() == CedarDecision::Allow;
        Ok(Decision {
            allowed,
            high_severity: allowed && policy_ids.iter().any(|id| self.high_severity.contains(id)),
            policy_ids,
        })
    }
}

fn action_uid(action: Action) -> Result<EntityUid, String> {
    EntityUid::from_str(&format!("Tumaini::Action::\"{}\"", action.name()))
        .map_err(|e| e.to_string())
}

/// Whether a policy's action scope (`action`, `action == A`, `action in [A, B]`) admits an
/// action, given the action hierarchy: a policy it does not admit is never satisfied by a
/// request for that action, so leaving it out of that action's set changes no decision.
fn scope_admits(scope: &ActionConstraint, action: &EntityUid, hierarchy: &Entities) -> bool {
    match scope {
        ActionConstraint::Any => true,
        ActionConstraint::Eq(uid) => uid == action,
        ActionConstraint::In(uids) => {
            uids.contains(action)
                || hierarchy
                    .ancestors(action)
                    .is_some_and(|mut ancestors| ancestors.any(|a| uids.contains(a)))
        }
    }
}

/// Entities prepared for one principal and resource (a failure to build them denies every
/// decision made with them).
#[derive(Debug)]
pub struct Prepared(Result<Entities, String>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_policies_validate_and_every_one_has_an_id() {
        let authorizer = Authorizer::embedded().unwrap();
        let ids = authorizer.policy_ids();
        assert!(ids.len() >= 20, "{ids:?}");
        assert!(ids.iter().all(|id| id.contains('.')), "{ids:?}");
    }

    #[test]
    fn each_action_is_decided_by_exactly_the_policies_whose_scope_admits_it() {
        let authorizer = Authorizer::embedded().unwrap();
        let in_some: HashSet<String> = authorizer
            .by_action
            .values()
            .flat_map(|set| set.policies().map(|p| p.id().to_string()))
            .collect();
        assert_eq!(
            in_some.len(),
            authorizer.policy_ids().len(),
            "no policy is lost"
        );
        let ids = |action: Action| -> HashSet<String> {
            authorizer.by_action[&action]
                .policies()
                .map(|p| p.id().to_string())
                .collect()
        };
        // Scoped by a group of actions (`action in [CaseAccess, ...]`): applies to its members.
        let read_identity = ids(Action::ReadIdentity);
        assert!(read_identity.contains("guard.law-enforcement-needs-consent"));
        assert!(read_identity.contains("guard.admin-never-touches-cases"));
        assert!(!ids(Action::ReadSummary).contains("guard.law-enforcement-needs-consent"));
        // Unscoped (`action`): applies to every action.
        assert!(
            Action::ALL
                .iter()
                .all(|a| ids(*a).contains("guard.inactive-organisation"))
        );
        // Scoped to referral actions only: never consulted for a case read.
        assert!(ids(Action::AcceptReferral).contains("referral.receiver-answers"));
        assert!(!ids(Action::ReadIdentity).contains("referral.receiver-answers"));
        assert!(!ids(Action::ReadSummary).contains("referral.parties-read"));
        for action in Action::ALL {
            assert!(
                ids(*action).len() < authorizer.policy_ids().len(),
                "{} is decided by a subset",
                action.name()
            );
        }
    }

    #[test]
    fn a_break_glass_grant_without_high_severity_is_refused() {
        let unmarked = vec![(
            "mine.cedar".to_owned(),
            "@id(\"mine.emergency-reading\")\npermit (principal, action in Tumaini::Action::\"ReadPersonalGroup\", resource is Tumaini::Case)\nwhen { principal.role == \"coordinator\" && context.break_glass };".to_owned(),
        )];
        let err = Authorizer::from_sources(EMBEDDED_SCHEMA, &unmarked).unwrap_err();
        assert!(err.to_string().contains("mine.emergency-reading"), "{err}");
        assert!(err.to_string().contains("@severity"), "{err}");
        let marked = vec![(
            "mine.cedar".to_owned(),
            unmarked[0].1.replacen("@id", "@severity(\"high\")\n@id", 1),
        )];
        let authorizer = Authorizer::from_sources(EMBEDDED_SCHEMA, &marked).unwrap();
        assert!(authorizer.high_severity.contains("mine.emergency-reading"));
    }

    #[test]
    fn an_invalid_policy_is_refused_with_a_clear_message() {
        let bad = vec![(
            "bad.cedar".to_owned(),
            "@id(\"bad.typo\")\npermit (principal, action == Tumaini::Action::\"ReadSummary\", resource is Tumaini::Case)\nwhen { principal.rol == \"coordinator\" };".to_owned(),
        )];
        let err = Authorizer::from_sources(EMBEDDED_SCHEMA, &bad).unwrap_err();
        assert!(matches!(err, PolicyError::Validation(_)), "{err}");
        assert!(err.to_string().contains("bad.typo"), "{err}");
        let unnamed = vec![(
            "x.cedar".to_owned(),
            "permit (principal, action, resource);".to_owned(),
        )];
        assert!(matches!(
            Authorizer::from_sources(EMBEDDED_SCHEMA, &unnamed),
            Err(PolicyError::Ids(_))
        ));
    }
}
