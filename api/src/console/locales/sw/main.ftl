## Mfumo wa dashibodi, kuingia, akaunti na makosa (Kiswahili).

skip-to-content = Ruka hadi maudhui
nav-label = Kuu
nav-work = Kazi yangu
nav-cases = Mashauri
nav-referrals = Rufaa
nav-supervision = Usimamizi
nav-coordination = Uratibu
nav-account = Akaunti yangu
sign-out = Toka
sign-out-everywhere = Toka kila mahali
language = Lugha:
yes = Ndiyo
no = Hapana
continue = Endelea
save = Hifadhi
cancel = Ghairi

month-1 = Januari
month-2 = Februari
month-3 = Machi
month-4 = Aprili
month-5 = Mei
month-6 = Juni
month-7 = Julai
month-8 = Agosti
month-9 = Septemba
month-10 = Oktoba
month-11 = Novemba
month-12 = Desemba

sign-in-title = Ingia
sign-in = Ingia
sign-in-refused = Anwani ya barua pepe, nenosiri au msimbo haukukubaliwa. Viangalie kisha ujaribu tena.
sign-in-too-many = Majaribio mengi mno kutoka kwenye muunganisho huu. Subiri dakika moja, kisha ujaribu tena.
field-email = Anwani ya barua pepe
field-password = Nenosiri
field-otp = Msimbo kutoka programu yako ya uthibitishaji
field-otp-hint = Ikiwa tu akaunti yako ina kipengele cha pili: tarakimu 6 zinazoonyeshwa kwenye programu, au msimbo wa kurejesha.
forgot-link = Umesahau nenosiri lako?

account-title = Akaunti yangu
account-name = Jina
account-role = Wadhifa
account-organisation = Shirika
account-second-factor = Kipengele cha pili
password-change-link = Badilisha nenosiri langu
mfa-enrol-link = Weka kipengele cha pili
sessions-title = Mahali ulipoingia
sessions-client = Kifaa
sessions-started = Uliingia
sessions-last-used = Ilitumika mwisho
sessions-action = Kitendo
sessions-this-one = (hiki)
sessions-end = Toka hapo

password-title = Badilisha nenosiri
password-must-change = Nenosiri lako ulipewa na mtu mwingine. Chagua lako mwenyewe kabla ya kuendelea.
field-current-password = Nenosiri la sasa
field-new-password = Nenosiri jipya
field-new-password-hint = Angalau herufi 12. Maneno machache yasiyohusiana hufanya nenosiri imara lililo rahisi kukumbuka.
password-change = Badilisha nenosiri
password-weak = Nenosiri hili ni fupi mno, la kawaida mno, au lina jina au anwani yako. Chagua jingine.
password-wrong-current = Nenosiri la sasa halikukubaliwa. Subiri kidogo baada ya majaribio kadhaa.

forgot-title = Nenosiri lililosahaulika
forgot-text = Andika anwani ya barua pepe ya akaunti yako. Ikiwa ipo, tutatuma kiungo cha kuchagua nenosiri jipya, halali kwa saa moja.
forgot-send = Tuma kiungo
forgot-sent = Ikiwa akaunti ina anwani hii, ujumbe uko njiani. Fungua kiungo ndani ya saa moja.
reset-link = Nina kiungo: chagua nenosiri jipya
reset-title = Chagua nenosiri jipya
reset-text = Bandika tokeni kutoka kwenye kiungo cha barua pepe (maandishi baada ya “token=”) na uchague nenosiri jipya.
field-reset-token = Tokeni kutoka kwenye barua pepe
field-reset-token-hint = Maandishi marefu baada ya “token=” kwenye kiungo.
reset-submit = Weka nenosiri
reset-done = Nenosiri lako limewekwa. Vipindi vyote vya akaunti yako vimeisha; ingia kwa nenosiri jipya.
reset-refused = Kiungo hiki si halali, kimeshatumika au kimepitwa na wakati. Omba kipya.

mfa-title = Kipengele cha pili
mfa-required = Wadhifa wako unahitaji kipengele cha pili kabla ya kufanya kazi na mashauri.
mfa-intro = Kipengele cha pili ni msimbo wa tarakimu 6 kutoka programu ya uthibitishaji kwenye simu yako, unaoulizwa kila unapoingia. Huwalinda watu walio kwenye kumbukumbu ikiwa nenosiri lako litajulikana na mtu mwingine.
mfa-begin = Anza
mfa-step-scan = Fungua programu yako ya uthibitishaji na uchanganue msimbo huu, au andika ufunguo ulioonyeshwa chini yake.
mfa-step-type = Andika tarakimu 6 ambazo programu inaonyesha sasa.
mfa-qr-alt = Msimbo wa QR kwa programu yako ya uthibitishaji. Ikiwa huwezi kuuchanganua, andika ufunguo ulioonyeshwa chini yake.
mfa-secret = Ufunguo wa kuandika badala yake:
field-code = Msimbo wa tarakimu 6
mfa-confirm = Thibitisha
mfa-wrong-code = Msimbo huo haukukubaliwa. Misimbo hubadilika kila sekunde 30: andika unaoonyeshwa sasa na programu.
mfa-done = Kipengele chako cha pili kimewashwa.
mfa-recovery-intro = Andika misimbo hii ya kurejesha na uiweke mahali salama, mbali na simu yako. Kila mmoja hufanya kazi mara moja ukipoteza simu. Inaonyeshwa sasa tu.
mfa-already = Kipengele chako cha pili tayari kimewekwa.

error-back = Rudi kwenye kazi yangu
error-invalid-title = Kitu fulani kwenye fomu hakikuweza kusomwa
error-invalid-text = Rudi nyuma, kagua fomu na uitume tena.
error-forbidden-title = Hairuhusiwi
error-forbidden-text = Huruhusiwi kufanya hivi. Ikiwa fomu ilikuwa wazi kwa muda mrefu, rudi nyuma, pakia ukurasa upya na ujaribu tena.
error-not-found-title = Haikupatikana
error-not-found-text = Hakuna kitu hapa, au hakuna unachoruhusiwa kuona.
error-conflict-title = Imebadilika kwa sasa
error-conflict-text = Mtu amebadilisha hiki tangu ulipokifungua, au hakiwezekani katika hali yake ya sasa. Pakia ukurasa upya na ujaribu tena.
error-too-many-title = Maombi mengi mno
error-too-many-text = Subiri dakika moja, kisha ujaribu tena.
error-unavailable-title = Haipatikani kwa sasa
error-unavailable-text = Mfumo hauwezi kuhudumia hili kwa sasa. Hakuna kilichopotea: jaribu tena baada ya dakika moja.
error-internal-title = Hitilafu imetokea
error-internal-text = Hitilafu imerekodiwa kwa wasimamizi wa mfumo. Jaribu tena; ikitokea tena, waambie saa ilipotokea.

work-title = Kazi yangu
work-empty = Hakuna kinachodaiwa. Rufaa mpya, ufuatiliaji na tarehe za mwisho huonekana hapa.
work-count = { $count ->
    [one] Kipengele kimoja, kinachodaiwa mapema kwanza.
   *[other] Vipengele { $count }, vinavyodaiwa mapema kwanza.
}
work-due = Tarehe
work-what = Nini
work-case = Shauri
work-held-by = Anayeshughulikia
work-lead = kiongozi
work-overdue = imechelewa
work-kind-follow-up = Ufuatiliaji
work-kind-risk-assessment-review = Pitia tathmini ya hatari
work-kind-plan-review = Pitia mpango wa msaada
work-kind-recovery-period-end = Kipindi cha kupona kinaisha
work-kind-reasonable-grounds-decision = Uamuzi wa sababu za msingi unadaiwa
work-kind-conclusive-grounds-decision = Uamuzi wa mwisho unadaiwa
work-kind-closure-approval = Kufungwa kwa shauri kuidhinishwe
work-kind-referral-to-answer = Rufaa ya kujibu
work-kind-referral-unanswered = Rufaa iliyotumwa, bado haijajibiwa
work-kind-duplicate-to-resolve = Nakala inayowezekana ya kutatua
work-kind-erasure-approval = Ufutaji wa kuidhinisha
work-kind-transfer-to-answer = Uhamisho wa kujibu

invitation-title = Weka nenosiri lako
invitation-text = Umealikwa kwenye Tumaini. Bandika tokeni kutoka kwenye kiungo cha barua pepe ya mwaliko (maandishi baada ya “token=”) na uchague nenosiri lako.
invitation-submit = Weka nenosiri langu
invitation-done = Nenosiri lako limewekwa. Ingia kwa anwani yako ya barua pepe na nenosiri hili.

link-title = Tumaini
link-open = Ifungue kwenye Tumaini
