## Oversight: supervision, assignments, break-glass, coordination and statistics (English).

oversight-nobody = Nobody assigned
oversight-back-to-case = Back to the case

supervision-title = Supervision
supervision-waiting = Waiting for you
supervision-nothing = Nothing waits for your approval: no closures, possible duplicates or erasures.
supervision-count = { $count ->
    [one] One item waits for you, oldest first.
   *[other] { $count } items wait for you, oldest first.
}
supervision-staff = Staff of your organisation
supervision-staff-hint = The cases each person holds that have something due. Open a case's assignments to change who works on it.
supervision-member = Member of staff
supervision-cases-due = Cases with something due
supervision-none-due = None

staff-assignments-title = Assignments
staff-assignments-assigned = Assigned to this case
staff-assignments-none = Nobody of your organisation is assigned to this case.
staff-assignments-lead = Lead
staff-assignments-since = Assigned
staff-assignments-action = Action
staff-assignments-is-lead = Lead case worker
staff-assignments-unassign = Unassign
staff-assignments-assign = Assign a member of staff
staff-assignments-member = Member of staff
staff-assignments-make-lead = Make them the lead case worker (the current lead stays assigned)
staff-assignments-effect = The change takes effect on their next page or request.
staff-assignments-assign-button = Assign
staff-assignments-not-assigned = That person is not assigned to this case for your organisation. Reload the page.
staff-assignments-not-staff = Choose a case worker or supervisor of your organisation.

emergency-access-title = Break-glass access
emergency-access-emergency = Break-glass is for emergencies only: when a person's safety cannot wait for the normal rules.
emergency-access-rule-time = Access is limited in time: at most { $limit }, after which it closes by itself.
emergency-access-rule-audit = Opening it is recorded in the audit trail at high severity, and so is every read under it.
emergency-access-rule-told = The national coordinators and the supervisors of the organisation that owns the case are told by e-mail at once.
emergency-access-rule-review = Every opening and its justification are reviewed afterwards.
emergency-access-opened = Break-glass access is open. It was recorded at high severity and will be reviewed.
emergency-access-open-now = Your break-glass access to this case now
emergency-access-groups = Groups
emergency-access-until = Open until
emergency-access-eat = (East Africa Time)
emergency-access-closes-itself = It closes by itself at that time. Open the case to read the groups.
emergency-access-form = Open break-glass access
emergency-access-groups-legend = Which personal groups do you need?
emergency-access-justification = Why this cannot wait
emergency-access-justification-hint = At least { $min } characters. Say what is happening and why the information is needed now. It is kept sealed and read in the review.
emergency-access-duration = For how long
emergency-access-duration-hint = The shortest time that is enough. At most { $limit }.
emergency-access-submit = Open break-glass access
emergency-access-invalid = Choose at least one group, write a justification of at least { $min } characters, and a duration of at most { $limit }.
emergency-access-minutes = { $count ->
    [one] 1 minute
   *[other] { $count } minutes
}
emergency-access-hours = { $count ->
    [one] 1 hour
   *[other] { $count } hours
}
emergency-access-group-identity = Identity (names, date of birth, documents)
emergency-access-group-contact = Contact (phones, addresses, location)
emergency-access-group-exploitation = Exploitation (account, places, perpetrators)
emergency-access-group-health = Health
emergency-access-group-legal = Legal (immigration, proceedings)
emergency-access-group-notes = Case notes

coordination-title = Coordination
coordination-deadlines = NRM deadlines
coordination-no-deadlines = No decision or recovery period of your country's cases is awaited.
coordination-deadline-count = { $count ->
    [one] One deadline, { $overdue } overdue.
   *[other] { $count } deadlines, { $overdue } overdue, soonest first.
}
coordination-referrals = Referrals by receiving organisation
coordination-referrals-at = Figures as of { $at } (East Africa Time).
coordination-no-referrals = No referrals yet.
coordination-organisation = Organisation
coordination-received = Received
coordination-open = Open
coordination-overdue = Overdue
coordination-accepted = Accepted
coordination-declined = Declined
coordination-expired = Expired
coordination-completed = Completed
coordination-mean-hours = Mean hours to answer

statistics-title = Statistics tables
statistics-refused = This table cannot be made: choose another breakdown (two different dimensions that apply to what is counted).
statistics-subject = What is counted
statistics-subject-people = People (cases and anonymous notifications)
statistics-subject-referrals = Referrals
statistics-rows = Rows
statistics-columns = Columns
statistics-columns-hint = Optional: a second dimension.
statistics-show = Show the table
statistics-threshold = Figures of fewer than { $threshold } are not shown, and some others are hidden with them, so that nobody can be singled out.
statistics-legend = Legend
statistics-symbol-star = Star
statistics-symbol-dagger = Dagger
statistics-below = Suppressed: fewer than { $threshold }.
statistics-below-short = suppressed, fewer than { $threshold }
statistics-complementary = Suppressed so that a small figure cannot be worked out from the totals.
statistics-complementary-short = suppressed to protect a small figure
statistics-suppressed-count = { $count ->
    [0] No figure of this table is suppressed.
    [one] One figure of this table is suppressed.
   *[other] { $count } figures of this table are suppressed.
}
statistics-total = Total
statistics-caption-one = { $unit } by { $rows }
statistics-caption-two = { $unit } by { $rows } and { $columns }
statistics-unit-people = People
statistics-unit-people-by-exploitation-type = People (once for each form of exploitation)
statistics-unit-referrals = Referrals
statistics-unit-referrals-by-exploitation-type = Referrals (once for each form of exploitation)
statistics-dim-year = Year
statistics-dim-quarter = Quarter
statistics-dim-month = Month
statistics-dim-sex = Sex
statistics-dim-age-band = Age band
statistics-dim-age-group = Adult or child
statistics-dim-citizenship = Citizenship
statistics-dim-exploitation-type = Form of exploitation
statistics-dim-exploitation-country = Country of exploitation
statistics-dim-region = Region
statistics-dim-identification-stage = Identification stage
statistics-dim-case-status = Case status
statistics-dim-organisation-kind = Kind of organisation
statistics-dim-organisation = Organisation
statistics-dim-flow = Domestic or cross-border
statistics-dim-record-kind = Case or anonymous notification
statistics-dim-urgency = Urgency of the referral
statistics-dim-referral-state = Outcome of the referral
statistics-dim-referral-flow = Referral at home or abroad
statistics-value-adult = Adult
statistics-value-child = Child
statistics-value-cross-border = Cross-border
statistics-value-domestic = Domestic
statistics-value-unknown = Unknown
statistics-value-anonymous-notification = Anonymous notification
statistics-value-case = Case
statistics-value-not-recorded = Not recorded
statistics-value-not-applicable = Not applicable
