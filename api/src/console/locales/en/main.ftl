## The console's frame, sign-in, account and errors (English).

skip-to-content = Skip to content
nav-label = Main
nav-work = My work
nav-cases = Cases
nav-referrals = Referrals
nav-supervision = Supervision
nav-coordination = Coordination
nav-account = My account
sign-out = Sign out
sign-out-everywhere = Sign out everywhere
language = Language:
yes = Yes
no = No
continue = Continue
save = Save
cancel = Cancel

month-1 = January
month-2 = February
month-3 = March
month-4 = April
month-5 = May
month-6 = June
month-7 = July
month-8 = August
month-9 = September
month-10 = October
month-11 = November
month-12 = December

sign-in-title = Sign in
sign-in = Sign in
sign-in-refused = The e-mail address, password or code was not accepted. Check them and try again.
sign-in-too-many = Too many attempts from this connection. Wait a minute, then try again.
field-email = E-mail address
field-password = Password
field-otp = Code from your authenticator app
field-otp-hint = Only if your account has a second factor: the 6 digits shown in the app, or a recovery code.
forgot-link = Forgotten your password?

account-title = My account
account-name = Name
account-role = Role
account-organisation = Organisation
account-second-factor = Second factor
password-change-link = Change my password
mfa-enrol-link = Set up a second factor
sessions-title = Where you are signed in
sessions-client = Device
sessions-started = Signed in
sessions-last-used = Last used
sessions-action = Action
sessions-this-one = (this one)
sessions-end = Sign out there

password-title = Change password
password-must-change = Your password was given to you by someone else. Choose your own before you continue.
field-current-password = Current password
field-new-password = New password
field-new-password-hint = At least 12 characters. A few unrelated words make a strong password that is easy to remember.
password-change = Change password
password-weak = This password is too short, too common or contains your name or address. Choose another.
password-wrong-current = The current password was not accepted. Wait a moment after several attempts.

forgot-title = Forgotten password
forgot-text = Enter the e-mail address of your account. If it has one, we send a link to choose a new password, valid for one hour.
forgot-send = Send the link
forgot-sent = If an account has this address, a message is on its way. Open the link within one hour.
reset-link = I have the link: choose a new password
reset-title = Choose a new password
reset-text = Paste the token from the link in the e-mail (the text after “token=”) and choose a new password.
field-reset-token = Token from the e-mail
field-reset-token-hint = The long text after “token=” in the link.
reset-submit = Set the password
reset-done = Your password is set. Every session of your account has ended; sign in with the new password.
reset-refused = This link is invalid, already used or expired. Ask for a new one.

mfa-title = Second factor
mfa-required = Your role needs a second factor before you can work with cases.
mfa-intro = A second factor is a 6-digit code from an authenticator app on your phone, asked for each time you sign in. It keeps the people in the records safe if your password is ever known to someone else.
mfa-begin = Begin
mfa-step-scan = Open your authenticator app and scan this code, or type the key shown under it.
mfa-step-type = Enter the 6 digits the app now shows.
mfa-qr-alt = QR code for your authenticator app. If you cannot scan it, type the key shown below it.
mfa-secret = Key to type instead:
field-code = 6-digit code
mfa-confirm = Confirm
mfa-wrong-code = That code was not accepted. Codes change every 30 seconds: enter the one the app shows now.
mfa-done = Your second factor is on.
mfa-recovery-intro = Write these recovery codes down and keep them somewhere safe, away from your phone. Each works once if you lose the phone. They are shown only now.
mfa-already = Your second factor is already set up.

error-back = Back to my work
error-invalid-title = Something in the form could not be read
error-invalid-text = Go back, check the form and send it again.
error-forbidden-title = Not allowed
error-forbidden-text = You may not do this. If the form was open for a long time, go back, reload the page and try again.
error-not-found-title = Not found
error-not-found-text = There is nothing here, or nothing you may see.
error-conflict-title = Changed in the meantime
error-conflict-text = Someone changed this since you opened it, or it is not possible in its current state. Reload the page and try again.
error-too-many-title = Too many requests
error-too-many-text = Wait a minute, then try again.
error-unavailable-title = Not available just now
error-unavailable-text = The system cannot serve this just now. Nothing was lost: try again in a minute.
error-internal-title = Something went wrong
error-internal-text = The error was recorded for the administrators. Try again; if it happens again, tell them the time it happened.

work-title = My work
work-empty = Nothing is due. New referrals, follow-ups and deadlines appear here.
work-count = { $count ->
    [one] One item, soonest due first.
   *[other] { $count } items, soonest due first.
}
work-due = Due
work-what = What
work-case = Case
work-held-by = Held by
work-lead = lead
work-overdue = overdue
work-kind-follow-up = Follow-up
work-kind-risk-assessment-review = Review the risk assessment
work-kind-plan-review = Review the assistance plan
work-kind-recovery-period-end = Recovery period ends
work-kind-reasonable-grounds-decision = Reasonable-grounds decision due
work-kind-conclusive-grounds-decision = Conclusive-grounds decision due
work-kind-closure-approval = Closure to approve
work-kind-referral-to-answer = Referral to answer
work-kind-referral-unanswered = Referral sent, not yet answered
work-kind-duplicate-to-resolve = Possible duplicate to resolve
work-kind-erasure-approval = Erasure to approve
work-kind-transfer-to-answer = Transfer to answer

invitation-title = Set your password
invitation-text = You were invited to Tumaini. Paste the token from the link in the invitation e-mail (the text after “token=”) and choose your password.
invitation-submit = Set my password
invitation-done = Your password is set. Sign in with your e-mail address and this password.

link-title = Tumaini
link-open = Open it in Tumaini
