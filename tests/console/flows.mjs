// The web console's flows in headless Chromium, as staff go through them. Run by
// tests/tests/e2e/console_browser.rs with a JSON description on standard input:
//
//   {"base_url", "chromium", "screenshots", "password",
//    "accounts": {"en": {"responder", "worker", "supervisor"}, "sw": {...}, "coordinator"},  (e-mails)
//    "authenticators": {"<supervisor or coordinator e-mail>": {"secret": base32, "last_step": n}},
//    "organisations": {"police"|"shelter"|"clinic": {"id", "name"}}, "region",
//    "shelter_cases": {"en"|"sw": {"id", "reference"}}}   (cases the shelter owns)
//
// Every page reached is checked by `Visit.check` (browser.mjs): screenshot `NNN-step.png`,
// axe-core WCAG 2.2 AA, no script, status, size. Ends with `RESULT {json}` (what the flows
// created, for the Rust test to check in the database) and a non-zero exit on any failure.

import { Run, messages, messageStarts, nextCode } from './browser.mjs';

const input = [];
for await (const chunk of process.stdin) input.push(chunk);
const d = JSON.parse(Buffer.concat(input).toString('utf8'));
const run = new Run(d);
const result = {};
const EN = messages('en');
const SW = messages('sw');
const STARTS = messageStarts('en');

const WORK = /^\/console\/work$/;
const SIGN_IN = /^\/console\/sign-in$/;

/** Signs `email` in through the form (a code from the authenticator when it has one) and
 *  checks the page it lands on, "My work". */
async function signIn(v, email, name, { lang = 'en' } = {}) {
  const { page } = v;
  if (!new URL(page.url(), d.base_url).pathname.match(SIGN_IN)) await page.goto('/console/sign-in');
  await page.fill('#email', email);
  await page.fill('#password', d.password);
  const authenticator = d.authenticators[email];
  if (authenticator) await page.fill('#otp', await nextCode(authenticator));
  return v.click(page.locator('main form[action="/console/sign-in"] button[type=submit]'), name, { path: WORK, lang });
}

/** Chooses `language` with the footer's buttons. */
async function switchLanguage(v, language, name) {
  const check = await v.click(v.page.locator(`footer button[name=lang][value=${language}]`), name, { lang: language });
  const pressed = await v.page.getAttribute(`footer button[value=${language}]`, 'aria-pressed');
  if (pressed !== 'true') throw new Error(`the ${language} button is not marked as pressed`);
  return check;
}

async function signOut(v, name, { lang = 'en' } = {}) {
  return v.click(v.page.locator('header form[action="/console/sign-out"] button[type=submit]'), name, { path: SIGN_IN, lang });
}

await run.start();

// --- the pages of every account: sign-in, my work, account, password, language, sign-out -----
await run.flow('sign-in, my work, account, password, language and sign-out (first responder)', async (open) => {
  const v = await open('responder');
  const email = d.accounts.en.responder;
  await v.goto('/console/sign-in', 'sign-in', { path: SIGN_IN });
  await v.page.fill('#email', email);
  await v.page.fill('#password', 'not the password at all');
  await v.click(v.page.locator('main button[type=submit]'), 'sign-in-refused', { status: 401, path: SIGN_IN });
  await v.expectText(EN.get('sign-in-refused'), 'a refused sign-in says so');
  await signIn(v, email, 'signed-in-my-work');
  await v.click(v.page.locator('header nav a[href="/console/account"]'), 'account', { path: /^\/console\/account$/ });
  await v.expectText('Web console', 'the account page lists this session');
  await v.click(v.page.locator('main a[href="/console/password"]'), 'password', { path: /^\/console\/password$/ });
  await v.page.fill('#current_password', d.password);
  await v.page.fill('#new_password', 'short');
  await v.click(v.page.locator('main button[type=submit]'), 'password-too-weak', { status: 422 });
  const invalid = await v.page.getAttribute('#new_password', 'aria-invalid');
  if (invalid !== 'true') throw new Error('the weak password field is not marked aria-invalid');
  await v.goto('/console/mfa', 'second-factor-offer', { path: /^\/console\/mfa$/ });
  await v.goto('/console/no-such-page', 'not-found', { status: 404 });
  await v.goto('/console/work', 'my-work-again', { path: WORK });
  await switchLanguage(v, 'sw', 'my-work-in-swahili');
  await v.expectText(SW.get('work-title'), 'My work in Swahili');
  await v.click(v.page.locator('header nav a[href="/console/account"]'), 'account-in-swahili', { lang: 'sw' });
  await v.expectText(SW.get('account-role'), 'the account page in Swahili');
  await switchLanguage(v, 'en', 'back-to-english');
  await signOut(v, 'signed-out');
  const after = await v.page.goto('/console/work');
  if (!SIGN_IN.test(new URL(after.url()).pathname)) throw new Error(`after signing out, /console/work answered ${after.status()} at ${after.url()}`);
});

await run.flow('a supervisor signs in with a code from the authenticator app', async (open) => {
  const v = await open('supervisor');
  await v.goto('/console/sign-in', 'supervisor-sign-in', { path: SIGN_IN });
  await signIn(v, d.accounts.en.supervisor, 'supervisor-my-work');
  await v.click(v.page.locator('header nav a[href="/console/account"]'), 'supervisor-account');
  await signOut(v, 'supervisor-signed-out');
});

// --- (a)-(c) a person's case from the street to its closure, in English and in Swahili --------

const today = new Date();
const isoDay = (daysAgo) => new Date(today.getTime() - daysAgo * 86_400_000).toISOString().slice(0, 10);
const text = { en: EN, sw: SW };
/** Fictional people, one per language; their names and phones must never be in a URL. */
const PEOPLE = {
  en: { given_names: 'Akello Grace', family_name: 'Browsertest', phone: '+256 700 000 101', narrative: 'Kept in a bakery in Kisenyi and paid nothing' },
  sw: { given_names: 'Amani Zawadi', family_name: 'Kivinjari', phone: '+256 700 000 202', narrative: 'Alifungiwa katika mgahawa mjini Kampala' },
};
const personal = [];

/** The page's path for a case. */
const casePath = (id) => `/console/cases/${id}`;
const CASE_PAGE = /^\/console\/cases\/[0-9a-f-]{36}$/;

/** Signs in and, for a flow in another language, chooses it with the footer's buttons
 *  (before signing in for `before`, afterwards otherwise). */
async function signInIn(v, email, lang, name, { before = false } = {}) {
  if (lang === 'en') return signIn(v, email, name);
  if (before) {
    await v.goto('/console/sign-in', `${name}-sign-in-page`, { path: SIGN_IN });
    await switchLanguage(v, lang, `${name}-sign-in-page-${lang}`);
    await v.expectText(text[lang].get('field-password'), 'the sign-in form in the chosen language');
    return signIn(v, email, name, { lang });
  }
  await signIn(v, email, `${name}-before-language`);
  return switchLanguage(v, lang, name);
}

/** Chooses a purpose on the case page (asked once per visit) and shows the personal groups. */
async function withPurpose(v, purpose, name, lang) {
  await v.page.selectOption('main form.purpose select[name=purpose]', purpose);
  await v.click(v.page.locator('main form.purpose button[type=submit]'), name, { lang, path: CASE_PAGE });
  if (new URL(v.page.url()).searchParams.get('purpose') !== purpose) throw new Error(`the purpose is not in the address: ${v.page.url()}`);
}

/** (a) A first responder registers the person, records their consent, screens and refers them to the
 *  shelter; returns the case's id and reference. */
async function firstResponder(open, lang) {
  const t = text[lang];
  const person = PEOPLE[lang];
  personal.push(person.given_names, person.family_name, person.phone, person.narrative);
  const v = await open(`${lang}-responder`);
  const { page } = v;
  const o = { lang };
  await signInIn(v, d.accounts[lang].responder, lang, `${lang}-responder-my-work`);
  await v.click(page.locator('header nav a[href="/console/cases"]'), `${lang}-responder-cases`, { ...o, path: /^\/console\/cases$/ });
  await v.click(page.locator('main a[href="/console/cases/new"]'), `${lang}-register-form`, { ...o, path: /^\/console\/cases\/new$/ });
  // Sent empty first: the form comes back with its errors next to the fields.
  await v.click(page.locator('main form[action="/console/cases/new"] button[type=submit]'), `${lang}-register-form-errors`, { ...o, status: 422 });
  if ((await page.locator('main [aria-invalid=true]').count()) === 0) throw new Error('no field of the empty registration form is marked aria-invalid');
  await page.selectOption('#sex', 'female');
  await page.selectOption('#age_band', '24_26');
  await page.fill('#citizenship', 'UG');
  await page.fill('#exploitation_country', 'UG');
  await page.fill('#region', 'UG-102');
  await page.fill('#encountered_on', isoDay(3));
  await page.check('input[name=exploitation_types][value=forced_labour]');
  await page.check('input[name=means_of_control][value=withholds_documents]');
  await page.fill('#given_names', person.given_names);
  await page.fill('#family_name', person.family_name);
  await page.fill('#date_of_birth', '2000-05-17');
  await page.fill('#phones', person.phone);
  await page.fill('#narrative', person.narrative);
  await v.click(page.locator('main form[action="/console/cases/new"] button[type=submit]'), `${lang}-registered-case`, { ...o, path: CASE_PAGE });
  const id = new URL(page.url()).pathname.split('/').pop();
  const reference = (await page.locator('main h1').innerText()).split(' ').pop();
  await v.expectText(t.get('cases-case'), 'the case page');
  // A police unit reads no personal group without the person's consent to law enforcement
  // (guard.law-enforcement-needs-consent): the groups it just typed are withheld, and say so.
  await withPurpose(v, 'referral', `${lang}-case-details-withheld`, lang);
  await v.expectText(t.get('cases-group-withheld'), 'the personal details withheld from the police');
  if ((await v.mainText()).includes(person.family_name)) throw new Error('the police read a personal group without consent');

  // Consent: the choices, the words read aloud, then the record.
  await v.click(page.locator(`main a[href^="${casePath(id)}/consent"]`), `${lang}-consent-choices`, o);
  await page.selectOption('#given_by', 'person');
  await page.selectOption('#method', 'verbal');
  for (const value of ['assistance', 'referral']) await page.check(`input[name=purposes][value=${value}]`);
  for (const value of ['identity', 'contact']) await page.check(`input[name=groups][value=${value}]`);
  await page.check('input[name=recipients][value=shelter]');
  await v.click(page.locator(`main form[method=get][action="${casePath(id)}/consent"] button[type=submit]`), `${lang}-consent-read-aloud`, o);
  await v.expectText(t.get('cases-aloud-title'), 'the words to read aloud');
  await v.click(page.locator(`main form[method=post][action="${casePath(id)}/consent"] button[type=submit]`), `${lang}-consent-recorded`, { ...o, path: CASE_PAGE });

  // Screening with the indicator list.
  await v.click(page.locator(`main a[href^="${casePath(id)}/screening"]`), `${lang}-screening-form`, o);
  const indicators = page.locator('main input[name=indicators]');
  for (const i of [0, 1, 2]) await indicators.nth(i).check();
  await page.fill('#notes', lang === 'en' ? 'Screened at the border post' : 'Amechunguzwa mpakani');
  await v.click(page.locator(`main form[action="${casePath(id)}/screening"] button[type=submit]`), `${lang}-screening-recorded`, { ...o, path: CASE_PAGE });

  // Referral: the directory searched for a shelter in the region, then "Refer here".
  await v.click(page.locator(`main a[href="${casePath(id)}/refer"]`), `${lang}-refer-page`, o);
  await page.selectOption('#service', 'shelter');
  await page.fill('#country', 'UG');
  await page.fill('#region', d.region);
  await v.click(page.locator(`main form[method=get][action="${casePath(id)}/refer"] button[type=submit]`), `${lang}-directory-results`, o);
  const result = page.locator('main section.result').filter({ hasText: d.organisations.shelter.name });
  if ((await result.count()) !== 1) throw new Error(`the shelter is not found once in the directory (${await result.count()})`);
  for (const group of ['identity', 'contact']) await result.locator(`input[name=groups][value=${group}]`).check();
  await result.locator('select[name=urgency]').selectOption('high');
  await result.locator('textarea[name=reason]').fill(lang === 'en' ? 'Needs a safe bed tonight; speaks Luganda.' : 'Anahitaji mahali salama pa kulala usiku huu.');
  await v.click(result.locator('button[type=submit]'), `${lang}-referred`, { ...o, path: CASE_PAGE });
  await v.click(page.locator(`main a[href="${casePath(id)}/refer"]`), `${lang}-referrals-so-far`, o);
  const sent = page.locator('main table[aria-labelledby=so-far] tbody tr').filter({ hasText: d.organisations.shelter.name });
  if ((await sent.count()) !== 1) throw new Error('the referral to the shelter is not listed on the case');
  const referral = (await sent.locator('a').first().getAttribute('href')).split('/').pop();
  await signOut(v, `${lang}-responder-signed-out`, { lang });
  return { id, reference, referral };
}

/** (b) The shelter's case worker accepts the referral from the inbox and logs the assistance given;
 *  then asks for the closure of a case the shelter owns (the policies let only the owning
 *  organisation's staff change a case's status: `case.owner-staff`, so not the referred case),
 *  and the supervisor signs in with a code and approves the closure. */
async function shelter(open, lang, made, own) {
  const t = text[lang];
  const o = { lang };
  const w = await open(`${lang}-worker`);
  await signInIn(w, d.accounts[lang].worker, lang, `${lang}-worker-my-work`, { before: true });
  await w.click(w.page.locator('header nav a[href="/console/referrals"]'), `${lang}-worker-referrals`, { ...o, path: /^\/console\/referrals$/ });
  const row = w.page.locator('main table tbody tr').filter({ hasText: made.reference });
  if ((await row.count()) !== 1) throw new Error(`the referral of ${made.reference} is not in the inbox once`);
  await w.click(row.locator(`a[href="/console/referrals/${made.referral}"]`), `${lang}-worker-referral`, { ...o, path: /^\/console\/referrals\/[0-9a-f-]{36}$/ });
  await w.click(w.page.locator('main form[action$="/accept"] button[type=submit]'), `${lang}-worker-referral-accepted`, o);
  await w.click(w.page.locator(`main a[href="${casePath(made.id)}"]`).first(), `${lang}-worker-referred-case`, { ...o, path: CASE_PAGE });
  await withPurpose(w, 'assistance', `${lang}-worker-referred-case-details`, lang);
  await w.expectText(PEOPLE[lang].family_name, 'the identity the referral shares with the shelter');
  if ((await w.page.locator('main form[action$="/status"]').count()) > 0) {
    console.log(`   note: the referred case's page offers ${d.organisations.shelter.name}'s case worker a closure form, which the policies refuse (403): the shelter does not own the case`);
  }
  await w.click(w.page.locator(`main a[href^="${casePath(made.id)}/assistance"]`), `${lang}-assistance-form`, o);
  await w.page.selectOption('#service_type', 'shelter');
  await w.page.selectOption('#status', 'completed');
  await w.page.fill('#provided_on', isoDay(0));
  await w.page.fill('#details', lang === 'en' ? 'Stayed two weeks' : 'Alikaa wiki mbili');
  await w.click(w.page.locator(`main form[action="${casePath(made.id)}/assistance"] button[type=submit]`), `${lang}-assistance-logged`, { ...o, path: CASE_PAGE });

  // The shelter's own case, found by its reference.
  await w.click(w.page.locator('header nav a[href="/console/cases"]'), `${lang}-worker-cases`, { ...o, path: /^\/console\/cases$/ });
  await w.page.fill('#reference', own.reference);
  await w.click(w.page.locator('main form[action="/console/cases"] button[type=submit]'), `${lang}-worker-case-found`, o);
  await w.click(w.page.locator(`main a[href="${casePath(own.id)}"]`), `${lang}-worker-own-case`, { ...o, path: CASE_PAGE });
  await w.page.selectOption('main form[action$="/status"] select[name=reason]', 'services_completed');
  await w.click(w.page.locator('main form[action$="/status"] button[type=submit]'), `${lang}-closure-requested`, { ...o, path: CASE_PAGE });
  await w.expectText(t.get('cases-closure-pending'), 'the closure is pending');
  await signOut(w, `${lang}-worker-signed-out`, { lang });

  const s = await open(`${lang}-supervisor`);
  await signInIn(s, d.accounts[lang].supervisor, lang, `${lang}-supervisor-my-work`);
  await s.click(s.page.locator('header nav a[href="/console/supervision"]'), `${lang}-supervision`, { ...o, path: /^\/console\/supervision$/ });
  await s.click(s.page.locator(`main a[href="${casePath(own.id)}"]`).first(), `${lang}-supervisor-case`, { ...o, path: CASE_PAGE });
  await s.click(s.page.locator('main button[name=change][value=approve_closure]'), `${lang}-closure-approved`, { ...o, path: CASE_PAGE });
  if ((await s.page.locator('main button[name=change]').count()) > 0) throw new Error('the closure buttons are still there after approving');
  await s.expectText(t.get('v-case-status-closed') ?? 'Closed', 'the case is closed');
  // The supervisor's other pages of a case (looked at, nothing changed: opening break-glass
  // alerts the coordinators).
  await s.click(s.page.locator(`main a[href="${casePath(own.id)}/assignments"]`), `${lang}-assignments`, { ...o, path: /\/assignments$/ });
  await s.goto(`${casePath(own.id)}/break-glass`, `${lang}-break-glass-form`, { ...o, path: /\/break-glass$/ });
  await signOut(s, `${lang}-supervisor-signed-out`, { lang });
}

for (const lang of ['en', 'sw']) {
  let made = null;
  const name = lang === 'en' ? '' : ' (c: in Swahili)';
  await run.flow(`(a) a first responder registers, records consent, screens and refers to the shelter${name}`, async (open) => {
    made = await firstResponder(open, lang);
    result[lang] = made;
  });
  if (made) {
    await run.flow(`(b) the shelter accepts, assists and asks to close; the supervisor approves${name}`, async (open) => {
      await shelter(open, lang, made, d.shelter_cases[lang]);
      result[lang].shelter_done = true;
    });
  }
}

// --- (d) a referral the person's consent does not allow is refused, and the page says why ------
await run.flow('(d) a referral refused for lack of consent shows why', async (open) => {
  const v = await open('refusal');
  const { page } = v;
  await signIn(v, d.accounts.en.responder, 'refusal-responder-my-work');
  await v.goto('/console/cases/new', 'refusal-register-form');
  await page.selectOption('#sex', 'male');
  await page.selectOption('#age_band', '27_29');
  await page.fill('#region', 'UG-102');
  await page.fill('#encountered_on', isoDay(1));
  await page.check('input[name=exploitation_types][value=forced_labour]');
  await v.click(page.locator('main form[action="/console/cases/new"] button[type=submit]'), 'refusal-registered-case', { path: CASE_PAGE });
  const id = new URL(page.url()).pathname.split('/').pop();
  const refer = async (organisation, service, groups, name) => {
    await v.goto(`${casePath(id)}/refer?service=${service}&country=UG&region=${encodeURIComponent(d.region)}`, `${name}-search`);
    const found = page.locator('main section.result').filter({ hasText: organisation.name });
    for (const group of groups) await found.locator(`input[name=groups][value=${group}]`).check();
    await found.locator('textarea[name=reason]').fill('Needs care today.');
    return v.click(found.locator('button[type=submit]'), name, { status: 409 });
  };
  // No consent at all.
  await refer(d.organisations.shelter, 'shelter', ['identity'], 'refused-no-consent');
  await v.expectText(EN.get('refer-gap-none'), 'the refusal for want of any consent');
  const alert = page.locator('main [role=alert]');
  if ((await alert.count()) === 0) throw new Error('the refusal is not announced (no role=alert)');
  // Consent to share with shelters only, then a referral to a clinic.
  await v.goto(`${casePath(id)}/consent?given_by=person&method=written&purposes=assistance&purposes=referral&groups=identity&recipients=shelter`, 'refusal-consent-read-aloud');
  await v.click(page.locator(`main form[method=post][action="${casePath(id)}/consent"] button[type=submit]`), 'refusal-consent-recorded', { path: CASE_PAGE });
  await refer(d.organisations.clinic, 'health', ['identity'], 'refused-not-for-clinics');
  await v.expectText(STARTS.get('refer-gap-recipient'), 'the refusal for a kind of organisation the consent does not name');
  result.refused_case = id;
});

// --- the national coordinator's page: deadlines, referrals, a statistics table ----------------
await run.flow("a coordinator's deadlines, referrals overview and statistics table", async (open) => {
  const v = await open('coordinator');
  const { page } = v;
  await signIn(v, d.accounts.coordinator, 'coordinator-my-work');
  await v.click(page.locator('header nav a[href="/console/coordination"]'), 'coordination', { path: /^\/console\/coordination$/ });
  const rows = await page.locator('main select[name=rows] option').evaluateAll((options) => options.map((o) => o.value).filter(Boolean));
  await page.selectOption('main select[name=rows]', rows[0]);
  await v.click(page.locator('main form[action="/console/coordination"] button[type=submit]'), 'coordination-statistics', { path: /^\/console\/coordination$/ });
  await switchLanguage(v, 'sw', 'coordination-language-sw');
  await v.goto(`/console/coordination?subject=people&rows=${rows[0]}`, 'coordination-statistics-sw', { lang: 'sw' });
  await switchLanguage(v, 'en', 'coordination-language-en');
});

// --- (e) keyboard only -----------------------------------------------------------------------
await run.flow('keyboard only: signing in with Tab, typing and Enter, the focus always visible', async (open) => {
  const v = await open('keyboard');
  const { page } = v;
  await v.goto('/console/sign-in', 'keyboard-sign-in-page', { path: SIGN_IN });
  const stops = [];
  const tab = async () => {
    await page.keyboard.press('Tab');
    const f = await v.focused();
    stops.push(`${f.tag}${f.id ? `#${f.id}` : ''}${f.text ? ` "${f.text}"` : ''}`);
    if (!f.visible) throw new Error(`focus on ${stops.at(-1)} is not visible (${f.style})`);
    return f;
  };
  const first = await tab();
  if (!(first.tag === 'a' && (await page.evaluate(() => document.activeElement.getAttribute('href'))) === '#main')) {
    throw new Error(`the first Tab stop is ${stops[0]}, not the skip link`);
  }
  await v.check('keyboard-skip-link-focused', { path: SIGN_IN });
  let f = first;
  for (let i = 0; i < 8 && f.id !== 'email'; i += 1) f = await tab();
  if (f.id !== 'email') throw new Error(`Tab never reached the e-mail field: ${stops.join(' → ')}`);
  await page.keyboard.type(d.accounts.en.responder);
  if ((await tab()).id !== 'password') throw new Error(`Tab from the e-mail field went to ${stops.at(-1)}`);
  await page.keyboard.type(d.password);
  if ((await tab()).id !== 'otp') throw new Error(`Tab from the password went to ${stops.at(-1)}`);
  if ((await tab()).tag !== 'button') throw new Error(`Tab from the code went to ${stops.at(-1)}`);
  await v.check('keyboard-focus-on-sign-in-button', { path: SIGN_IN });
  await page.keyboard.press('Shift+Tab');
  await v.act(() => page.keyboard.press('Enter'), 'keyboard-signed-in', { path: WORK });
  console.log(`   Tab stops: ${stops.join(' → ')}`);
});

run.checkUrls(personal);
await run.finish(result);
