## Referrals: referring a case, the inbox and outbox, one referral (English).

## Referring a case (/console/cases/{id}/refer)
refer-title = Refer case { $reference }
refer-back-to-case = Back to the case
refer-consent = The person's consent
refer-consent-referral = Agreed to be referred
refer-consent-recipients = May be shared with
refer-consent-nobody = Nobody yet
refer-consent-groups = Information it covers
refer-summary-only = The summary only
refer-change-consent = Change the consent
refer-record-consent = Record the person's consent
refer-no-consent = No consent is in force for this person. A referral needs their consent (for a child, a parent's or guardian's consent, or a recorded best-interest basis).
refer-so-far = Referrals of this case so far
refer-search = Find a service
refer-field-service = Service
refer-field-country = Country
refer-field-country-hint = Two letters, for example UG or KE. Leave empty for any country.
refer-field-region = Region or district
refer-field-region-hint = Services for the whole country are shown too.
refer-field-for = For
refer-for-adult = An adult
refer-for-child = A child
refer-field-sex = Serving
refer-field-with-room = Only services with room now
refer-search-button = Search
refer-country-invalid = Enter a country as two letters, for example UG.
refer-results = Services found
refer-no-results = No service matches. Widen the search: another region, or no region at all.
refer-result-count = { $count ->
    [one] One service.
   *[other] { $count } services.
}
refer-results-capped = Only the first { $count } are shown: narrow the search to see others.
refer-your-referral = Your referral was not sent
refer-kind = Kind of organisation
refer-area = Area
refer-serves = Serves
refer-serves-all-ages = Adults and children
refer-serves-adults = Adults
refer-serves-children = Children
refer-capacity = Room now
refer-own-organisation = This is your own organisation: refer to another one.
refer-field-groups = Information to share once the referral is accepted
refer-field-groups-hint = Tick only what this service needs. The summary (sex, age band, nationality) always goes with a referral.
refer-not-covered = (the consent does not cover this)
refer-field-urgency = How soon an answer is needed
refer-field-reason = Why you refer the person
refer-field-reason-hint = Up to 2000 characters, read only by the two organisations. Write only what the person agreed to share with them.
refer-submit = Refer here

## Why a referral was not sent
refer-gap-none = No consent is in force for this person. Record their consent to be referred first.
refer-gap-child = The person is treated as a child: a referral needs a parent's or guardian's consent, or a recorded best-interest basis, not the child's own consent. Record it first.
refer-gap-purpose = The person has not agreed to be referred to other services. Record their consent first.
refer-gap-recipient = The person has not agreed to share their information with { $recipient ->
        [shelter] a shelter
        [ngo] a non-governmental organisation
        [health] a health service
        [legal_aid] a legal aid provider
        [child_protection] a child protection service
        [competent_authority] the competent authority
        [coordination_office] the national coordination office
        [law_enforcement] the police, immigration or a labour inspectorate
        [abroad] an organisation abroad
       *[other] an organisation of this kind
    }. Record their consent first.
refer-gap-abroad = This organisation is in another country ({ $country }), and the person has not agreed to their information going abroad. Record their consent first.
refer-gap-groups = The person has not agreed to share: { $groups }. Untick what their consent does not cover, or record their consent first.
refer-gap-other = The person's consent does not cover this referral. Check the consent and record it again if they agree.
refer-reason-length = Write why you refer the person, in at most 2000 characters.
refer-groups-too-many = This service does not need all the information ticked: share only what it needs.
refer-organisation-unavailable = This organisation cannot receive referrals now. Choose another.
refer-invalid = The referral could not be sent as it is. Check the form and try again.
refer-already-open = This case already has an open referral to this organisation.
refer-case-closed = This case is closed or being closed: it cannot be referred.

## The inbox and outbox (/console/referrals)
referrals-title = Referrals
referrals-filter = Filter the referrals
referrals-both = Received and sent
referrals-field-box = Show
referrals-show = Show
referrals-inbox = Received by your organisation
referrals-outbox = Sent by your organisation
referrals-inbox-empty = No referral received.
referrals-outbox-empty = No referral sent.
referrals-inbox-more = More referrals received
referrals-outbox-more = More referrals sent
referrals-count = { $count ->
    [one] One referral, newest first.
   *[other] { $count } referrals, newest first.
}

## One referral (/console/referrals/{id})
referral-title = Referral
referral-reference = Reference
referral-case = Case
referral-from = From
referral-to = To
referral-services = Services
referral-groups = Information shared
referral-person = The person
referral-person-child = A child
referral-person-adult = An adult
referral-urgency = Urgency
referral-state = State
referral-overdue = Overdue
referral-sent = Sent
referral-respond-by = Answer due
referral-answered = Answered
referral-started = Service started
referral-ended = Ended
referral-cross-border = To another country
referral-consent-form = Consent form
referral-consent-form-attached = Attached to the case, readable by the receiving organisation while the referral is accepted.
referral-reason = Why the person was referred
referral-timeline = What happened
referral-by-deadline = the answer deadline passed
referral-actions = What you can do
referral-accept-hint = Accepting lets your organisation see the information shared, and makes you one of the people working on the case.
referral-accept = Accept
referral-start = The service has started
referral-complete = The service is complete
referral-withdraw = Withdraw the referral
referral-decline-heading = Decline
referral-decline-reason = Reason
referral-decline-pick = Choose a reason
referral-decline-choose = Choose why you decline.
referral-decline = Decline
referral-no-longer = This step is no longer possible: the referral changed in the meantime (answered, withdrawn or past its deadline). Here is where it stands now.

## Labels of the referral vocabularies
v-referral-state-sent = Sent, waiting for an answer
v-referral-state-accepted = Accepted
v-referral-state-declined = Declined
v-referral-state-expired = Expired unanswered
v-referral-state-in-service = In service
v-referral-state-completed = Completed
v-referral-state-withdrawn = Withdrawn
v-referral-urgency-emergency = Emergency
v-referral-urgency-high = High
v-referral-urgency-normal = Normal
v-decline-reason-no-capacity = No capacity now
v-decline-reason-service-not-offered = Service not offered
v-decline-reason-outside-service-area = Outside the service area
v-decline-reason-not-eligible = Does not serve this person's age group or sex
v-decline-reason-safety-concern = Safety concern
v-decline-reason-person-declined = The person declined
v-decline-reason-other = Other
v-capacity-available = Available
v-capacity-limited = Limited: ask first
v-capacity-full = Full
v-serves-sex-any = Anyone
v-serves-sex-female = Women and girls
v-serves-sex-male = Men and boys
