//! The actions the audit trail records. Every audited code path names its action with a
//! variant of [`AuditAction`]; the stored code never changes meaning once shipped (a verifier
//! of an old trail reads old codes).

vocabulary! {
    /// What an audit event records: one code per audited action.
    pub enum AuditAction as "audit_action" {
        /// A sign-in with a password (and a second factor where required).
        AuthLogin = "auth.login": "Sign-in",
        /// An access token asked for by a machine client (OAuth 2.0 client credentials).
        AuthClientToken = "auth.client_token": "Client token issued",
        /// A refresh token exchanged for a new access token.
        AuthRefresh = "auth.refresh": "Session refreshed",
        /// A spent refresh token presented again: the session is ended.
        AuthRefreshReuse = "auth.refresh_reuse": "Refresh token reused",
        /// A session ended by its holder.
        AuthLogout = "auth.logout": "Sign-out",
        /// One of the caller's sessions ended from another.
        AuthSessionRevoke = "auth.session_revoke": "Session revoked",
        /// Too many failures within the window locked an account.
        AuthAccountLocked = "auth.account_locked": "Account locked",
        /// A TOTP secret issued for enrolment.
        AuthMfaEnrolStart = "auth.mfa_enrol_start": "Second factor enrolment started",
        /// A TOTP second factor confirmed.
        AuthMfaEnrol = "auth.mfa_enrol": "Second factor enrolled",
        /// A password changed by its holder.
        AuthPasswordChange = "auth.password_change": "Password changed",
        /// A reset link asked for (answered alike whether or not the address exists).
        AuthPasswordResetRequest = "auth.password_reset_request": "Password reset requested",
        /// A password set through a reset link.
        AuthPasswordReset = "auth.password_reset": "Password reset",
        /// An invited account's first password set.
        AuthInvitationAccept = "auth.invitation_accept": "Invitation accepted",
        /// The kinds of e-mail a member of staff receives.
        AccountNotificationsUpdate = "account.notifications.update": "Notification preferences changed",
        /// An organisation added by an administrator.
        OrganisationCreate = "organisation.create": "Organisation created",
        /// The organisations read.
        OrganisationList = "organisation.list": "Organisations listed",
        /// An organisation's users can no longer act.
        OrganisationDeactivate = "organisation.deactivate": "Organisation switched off",
        /// Who inside an organisation reads the personal groups of its cases, changed.
        OrganisationCaseAccess = "organisation.case_access": "Organisation's case access changed",
        /// A machine client registered for an organisation (its first secret shown once).
        ClientCreate = "client.create": "Machine client registered",
        /// The machine clients listed.
        ClientList = "client.list": "Machine clients listed",
        /// One machine client read.
        ClientRead = "client.read": "Machine client read",
        /// A second secret issued to a machine client (both live until one is retired).
        ClientSecretRotate = "client.secret_rotate": "Client secret rotated",
        /// A machine client's secret retired.
        ClientSecretRetire = "client.secret_retire": "Client secret retired",
        /// A machine client revoked: its tokens stop at the next request.
        ClientRevoke = "client.revoke": "Machine client revoked",
        /// An account created from the command line.
        UserCreate = "user.create": "Account created",
        /// An account invited by e-mail.
        UserInvite = "user.invite": "Account invited",
        /// The accounts of an organisation read.
        UserList = "user.list": "Accounts listed",
        /// An account's role changed (its sessions end).
        UserRoleChange = "user.role_change": "Role changed",
        /// A case-reading role an administrator granted, waiting for a second person.
        UserRoleRequest = "user.role_request": "Role awaiting approval",
        /// The roles waiting for approval read.
        UserGrantList = "user.grant_list": "Pending roles listed",
        /// A pending role approved by a second person.
        UserGrantApprove = "user.grant_approve": "Role approved",
        /// A pending role refused by a second person.
        UserGrantReject = "user.grant_reject": "Role rejected",
        /// An account disabled (its sessions end).
        UserDisable = "user.disable": "Account disabled",
        /// A region added to the controlled list.
        RegionAdd = "region.add": "Region added",
        /// The service directory searched.
        DirectorySearch = "directory.search": "Service directory searched",
        /// An organisation's service listings read.
        DirectoryRead = "directory.read": "Service listing read",
        /// A service listing published or changed.
        DirectoryPublish = "directory.publish": "Service listing published",
        /// A service listing taken down.
        DirectoryWithdraw = "directory.withdraw": "Service listing withdrawn",
        /// A case registered.
        CaseCreate = "case.create": "Case registered",
        /// A list of cases read.
        CaseList = "case.list": "Cases listed",
        /// A case's summary and any personal groups read.
        CaseRead = "case.read": "Case read",
        /// A personal group asked for in a case read and refused.
        CaseReadGroup = "case.read_group": "Personal group refused",
        /// A case's summary or groups changed.
        CaseUpdate = "case.update": "Case updated",
        /// A new consent version.
        CaseConsentRecord = "case.consent.record": "Consent recorded",
        /// A case's consent versions read.
        CaseConsentRead = "case.consent.read": "Consent read",
        /// Consent withdrawn, in whole or in part.
        CaseConsentWithdraw = "case.consent.withdraw": "Consent withdrawn",
        /// A screening for trafficking indicators.
        CaseScreeningRecord = "case.screening.record": "Screening recorded",
        /// A case's screenings read.
        CaseScreeningRead = "case.screening.read": "Screenings read",
        /// A case referred into the National Referral Mechanism.
        CaseNrmReferral = "case.nrm_referral": "Referred into the NRM",
        /// A reasonable- or conclusive-grounds decision.
        CaseIdentificationDecision = "case.identification_decision": "Identification decision",
        /// A case's status changed.
        CaseStatus = "case.status": "Status changed",
        /// Closure asked of a supervisor.
        CaseClosureRequest = "case.closure.request": "Closure requested",
        /// A closure approved by a supervisor.
        CaseClosureApprove = "case.closure.approve": "Closure approved",
        /// A closure refused by a supervisor.
        CaseClosureReject = "case.closure.reject": "Closure refused",
        /// A closed case reopened.
        CaseReopen = "case.reopen": "Case reopened",
        /// Assistance given, recorded.
        CaseAssistanceRecord = "case.assistance.record": "Assistance recorded",
        /// A case's assistance read.
        CaseAssistanceRead = "case.assistance.read": "Assistance read",
        /// A case note.
        CaseNoteWrite = "case.note.write": "Note written",
        /// A case's notes read.
        CaseNoteRead = "case.note.read": "Notes read",
        /// A risk assessment.
        CaseRiskRecord = "case.risk.record": "Risk assessed",
        /// A case's risk assessments read.
        CaseRiskRead = "case.risk.read": "Risk assessments read",
        /// The assistance plan written.
        CasePlanWrite = "case.plan.write": "Plan written",
        /// The assistance plan read.
        CasePlanRead = "case.plan.read": "Plan read",
        /// Emergency access to personal groups, with a justification.
        CaseBreakGlassOpen = "case.break_glass.open": "Break-glass opened",
        /// A case's possible duplicates read.
        CaseDuplicatesRead = "case.duplicates.read": "Possible duplicates read",
        /// Two cases confirmed as one person.
        CaseDuplicateLink = "case.duplicate.link": "Duplicate confirmed",
        /// A possible duplicate dismissed.
        CaseDuplicateDismiss = "case.duplicate.dismiss": "Duplicate dismissed",
        /// A possible duplicate the registering organisation may not see, told to its holder.
        CaseDuplicateFlagged = "case.duplicate.flagged": "Duplicate told to its holder",
        /// A case's referrals and their timelines read.
        CaseReferralsRead = "case.referrals.read": "Case referrals read",
        /// The deadline scanner found the decision late.
        CaseDeadlineReasonableGroundsOverdue = "case.deadline.reasonable_grounds_overdue": "Reasonable-grounds decision overdue",
        /// The deadline scanner found the decision late.
        CaseDeadlineConclusiveGroundsOverdue = "case.deadline.conclusive_grounds_overdue": "Conclusive-grounds decision overdue",
        /// The versions of a case's personal groups listed (and earlier values of the groups
        /// asked for and allowed).
        CaseHistoryRead = "case.history.read": "Case history read",
        /// Processing of a case restricted.
        CaseRestrict = "case.restriction.place": "Processing restricted",
        /// A restriction of processing lifted.
        CaseRestrictionLift = "case.restriction.lift": "Restriction lifted",
        /// The staff of the caller's organisation assigned to a case, read.
        CaseAssignmentsRead = "case.assignments.read": "Case assignments read",
        /// A member of staff assigned to a case (or made its lead).
        CaseAssign = "case.assign": "Staff assigned to a case",
        /// A member of staff's assignment to a case ended.
        CaseUnassign = "case.unassign": "Staff unassigned from a case",
        /// A follow-up scheduled on a case.
        CaseFollowUpSchedule = "case.follow_up.schedule": "Follow-up scheduled",
        /// A case's follow-ups read (their notes where the reader may read the notes group).
        CaseFollowUpRead = "case.follow_up.read": "Follow-ups read",
        /// A follow-up marked done.
        CaseFollowUpDone = "case.follow_up.done": "Follow-up done",
        /// A follow-up called off.
        CaseFollowUpCancel = "case.follow_up.cancel": "Follow-up cancelled",
        /// A follow-up's reminder e-mailed to its assignee (by the deadline scanner).
        FollowUpRemind = "follow_up.remind": "Follow-up reminder sent",
        /// A member of staff's work list read ("my work").
        WorkRead = "work.read": "Work list read",
        /// Everything held about the person of a case, exported for them (their right of
        /// access: Uganda DPPA 2019 s.24, GDPR art. 15).
        CaseSubjectAccess = "case.subject_access": "Subject access export",
        /// A document added to a case (its first version).
        DocumentUpload = "document.upload": "Document uploaded",
        /// A new version of a document's content.
        DocumentReplace = "document.replace": "Document replaced",
        /// A case's documents listed (the metadata of those the reader may see).
        DocumentList = "document.list": "Documents listed",
        /// A document's content downloaded.
        DocumentDownload = "document.download": "Document downloaded",
        /// A document deleted (hidden; its content erased by retention).
        DocumentDelete = "document.delete": "Document deleted",
        /// A resumable upload opened (its bytes come in later requests).
        DocumentUploadOpen = "document.upload.open": "Resumable upload opened",
        /// Bytes of a resumable upload received (one event per request that sent some).
        DocumentUploadAppend = "document.upload.append": "Resumable upload continued",
        /// A resumable upload cancelled by its uploader; what it had received is removed.
        DocumentUploadCancel = "document.upload.cancel": "Resumable upload cancelled",
        /// Another organisation asked to take a case over.
        TransferRequest = "transfer.request": "Transfer requested",
        /// A transfer read, or an organisation's transfers listed.
        TransferRead = "transfer.read": "Transfer read",
        /// The sender's note on a transfer decrypted for a reader.
        TransferNoteRead = "transfer.note.read": "Transfer note read",
        /// A transfer accepted: the case moved to its new owner.
        TransferAccept = "transfer.accept": "Transfer accepted",
        /// A transfer declined, with a reason.
        TransferDecline = "transfer.decline": "Transfer declined",
        /// A transfer withdrawn by the sender.
        TransferWithdraw = "transfer.withdraw": "Transfer withdrawn",
        /// A case's ownership history read.
        CaseOwnershipRead = "case.ownership.read": "Case ownership history read",
        /// A referral to another organisation.
        ReferralCreate = "referral.create": "Referral sent",
        /// A referral read.
        ReferralRead = "referral.read": "Referral read",
        /// The reason given for a referral decrypted for a reader.
        ReferralReasonRead = "referral.reason.read": "Referral reason read",
        /// An organisation's referral inbox read.
        ReferralInbox = "referral.inbox": "Referrals received listed",
        /// An organisation's referral outbox read.
        ReferralOutbox = "referral.outbox": "Referrals sent listed",
        /// The overview of referrals per receiving organisation.
        ReferralOverview = "referral.overview": "Referral overview read",
        /// A referral accepted.
        ReferralAccept = "referral.accept": "Referral accepted",
        /// A referral declined, with a reason.
        ReferralDecline = "referral.decline": "Referral declined",
        /// The service of a referral started.
        ReferralStart = "referral.start": "Service started",
        /// The service of a referral completed.
        ReferralComplete = "referral.complete": "Referral completed",
        /// A referral withdrawn by its sender.
        ReferralWithdraw = "referral.withdraw": "Referral withdrawn",
        /// A referral unanswered by its deadline.
        ReferralExpired = "referral.expired": "Referral expired",
        /// A notification of a possible victim without personal data.
        AnonymousNotificationCreate = "anonymous_notification.create": "Anonymous notification recorded",
        /// Anonymous notifications read.
        AnonymousNotificationList = "anonymous_notification.list": "Anonymous notifications listed",
        /// A protected table of figures.
        StatisticsTable = "statistics.table": "Statistics table",
        /// A standard report.
        StatisticsReport = "statistics.report": "Statistics report",
        /// The k-anonymous case-level export.
        StatisticsExport = "statistics.export": "De-identified export",
        /// The export at the research k, under an agreement.
        StatisticsResearchExport = "statistics.research_export": "Research export",
        /// Audit events read.
        AuditQuery = "audit.query": "Audit trail queried",
        /// Who accessed a case.
        AuditDisclosures = "audit.disclosures": "Disclosures read",
        /// The chain and its checkpoints checked.
        AuditVerify = "audit.verify": "Audit trail verified",
        /// The signed checkpoints read (by an outside witness, typically).
        AuditCheckpoints = "audit.checkpoints": "Checkpoints read",
        /// One person read personal groups of more cases than the threshold.
        AuditMisuseAlert = "audit.misuse_alert": "Possible misuse flagged",
        /// A webhook endpoint registered for an organisation.
        WebhookCreate = "webhook.create": "Webhook endpoint registered",
        /// An organisation's webhook endpoints read.
        WebhookList = "webhook.list": "Webhook endpoints listed",
        /// A webhook endpoint's signing secret replaced.
        WebhookRotateSecret = "webhook.rotate_secret": "Webhook secret rotated",
        /// A webhook endpoint deleted.
        WebhookDelete = "webhook.delete": "Webhook endpoint deleted",
        /// A switched-off webhook endpoint switched back on.
        WebhookEnable = "webhook.enable": "Webhook endpoint switched on",
        /// A webhook endpoint switched off after failing for too long.
        WebhookDisable = "webhook.disable": "Webhook endpoint switched off",
        /// Demonstration cases created by `tumaini seed --demo`.
        DemoSeed = "demo.seed": "Demonstration data seeded",
        /// A full copy of the database written by `tumaini backup` (recorded in the database
        /// that was copied, once the copy is complete and checked).
        DatabaseBackup = "database.backup": "Database backed up",
        /// A database filled from a backup by `tumaini restore` (recorded in the restored
        /// database, after its checks).
        DatabaseRestore = "database.restore": "Database restored from a backup",
        /// A case's erasure asked for (the first of two people).
        CaseErasureRequest = "case.erasure.request": "Erasure requested",
        /// A case's erasure approved by a second person, and so carried out.
        CaseErasureApprove = "case.erasure.approve": "Erasure approved and executed",
        /// A case's erasure refused by the second person.
        CaseErasureRefuse = "case.erasure.refuse": "Erasure refused",
        /// A pending erasure withdrawn by the requesting organisation.
        CaseErasureCancel = "case.erasure.cancel": "Erasure request cancelled",
        /// An erasure request nobody approved in time.
        CaseErasureExpired = "case.erasure.expired": "Erasure request expired",
        /// A case erased by the retention job at the end of its retention period.
        CaseErasureRetention = "case.erasure.retention": "Erased at the end of retention",
        /// The erasure requests waiting for the caller's approval read.
        ErasureList = "erasure.list": "Erasure requests listed",
        /// A legal hold placed on a case.
        CaseLegalHoldPlace = "case.legal_hold.place": "Legal hold placed",
        /// A legal hold lifted.
        CaseLegalHoldLift = "case.legal_hold.lift": "Legal hold lifted",
        /// What a retention run would erase, counted by kind (`tumaini retention plan`).
        RetentionPlan = "retention.plan": "Retention plan shown",
        /// A retention run: what was due erased or deleted.
        RetentionRun = "retention.run": "Retention run",
    }
}

impl AuditAction {
    /// Whether the action reads a case's personal data (its groups or a referral's reason):
    /// what the misuse watch counts.
    pub const fn reads_case(self) -> bool {
        matches!(
            self,
            Self::CaseRead
                | Self::CaseConsentRead
                | Self::CaseScreeningRead
                | Self::CaseAssistanceRead
                | Self::CaseNoteRead
                | Self::CaseFollowUpRead
                | Self::CaseRiskRead
                | Self::CasePlanRead
                | Self::CaseDuplicatesRead
                | Self::CaseReferralsRead
                | Self::ReferralReasonRead
                | Self::TransferNoteRead
                | Self::CaseHistoryRead
                | Self::CaseSubjectAccess
                | Self::DocumentList
                | Self::DocumentDownload
        )
    }
}
