## Usimamizi: usimamizi, ugawaji wa kazi, ufikiaji wa dharura, uratibu na takwimu (Kiswahili).

oversight-nobody = Hakuna aliyepangiwa
oversight-back-to-case = Rudi kwenye shauri

supervision-title = Usimamizi
supervision-waiting = Yanayokusubiri
supervision-nothing = Hakuna kinachosubiri idhini yako: hakuna ufungaji, nakala zinazowezekana wala ufutaji.
supervision-count = { $count ->
    [one] Jambo moja linakusubiri, la zamani zaidi kwanza.
   *[other] Mambo { $count } yanakusubiri, ya zamani zaidi kwanza.
}
supervision-staff = Wafanyakazi wa shirika lako
supervision-staff-hint = Mashauri ambayo kila mtu anashughulikia yenye jambo linalotakiwa. Fungua ugawaji wa shauri ili kubadilisha nani anaishughulikia.
supervision-member = Mfanyakazi
supervision-cases-due = Mashauri yenye jambo linalotakiwa
supervision-none-due = Hakuna

staff-assignments-title = Ugawaji wa kazi
staff-assignments-assigned = Waliopangiwa shauri hili
staff-assignments-none = Hakuna mtu wa shirika lako aliyepangiwa shauri hili.
staff-assignments-lead = Kiongozi
staff-assignments-since = Alipangiwa
staff-assignments-action = Kitendo
staff-assignments-is-lead = Mfanyakazi kiongozi wa shauri
staff-assignments-unassign = Ondoa
staff-assignments-assign = Mpangie mfanyakazi
staff-assignments-member = Mfanyakazi
staff-assignments-make-lead = Mfanye kuwa mfanyakazi kiongozi wa shauri (kiongozi wa sasa anabaki amepangiwa)
staff-assignments-effect = Mabadiliko yanaanza kufanya kazi kwenye ukurasa au ombi lake linalofuata.
staff-assignments-assign-button = Panga
staff-assignments-not-assigned = Mtu huyo hajapangiwa shauri hili kwa shirika lako. Pakia upya ukurasa.
staff-assignments-not-staff = Chagua mfanyakazi wa shauri au msimamizi wa shirika lako.

emergency-access-title = Ufikiaji wa dharura
emergency-access-emergency = Ufikiaji wa dharura ni kwa dharura tu: pale usalama wa mtu hauwezi kusubiri taratibu za kawaida.
emergency-access-rule-time = Ufikiaji una kikomo cha muda: si zaidi ya { $limit }, kisha unajifunga wenyewe.
emergency-access-rule-audit = Kuufungua kunarekodiwa kwenye kumbukumbu za ukaguzi kwa uzito wa juu, na vivyo hivyo kila usomaji chini yake.
emergency-access-rule-told = Waratibu wa kitaifa na wasimamizi wa shirika linalomiliki shauri wanajulishwa kwa barua pepe mara moja.
emergency-access-rule-review = Kila ufunguzi na sababu yake hukaguliwa baadaye.
emergency-access-opened = Ufikiaji wa dharura umefunguliwa. Umerekodiwa kwa uzito wa juu na utakaguliwa.
emergency-access-open-now = Ufikiaji wako wa dharura kwa shauri hili sasa
emergency-access-groups = Makundi
emergency-access-until = Wazi hadi
emergency-access-eat = (Saa za Afrika Mashariki)
emergency-access-closes-itself = Unajifunga wenyewe wakati huo. Fungua shauri ili kusoma makundi.
emergency-access-form = Fungua ufikiaji wa dharura
emergency-access-groups-legend = Unahitaji makundi gani ya taarifa binafsi?
emergency-access-justification = Kwa nini hili haliwezi kusubiri
emergency-access-justification-hint = Angalau herufi { $min }. Eleza kinachotokea na kwa nini taarifa zinahitajika sasa. Inahifadhiwa kwa usiri na husomwa wakati wa ukaguzi.
emergency-access-duration = Kwa muda gani
emergency-access-duration-hint = Muda mfupi zaidi unaotosha. Si zaidi ya { $limit }.
emergency-access-submit = Fungua ufikiaji wa dharura
emergency-access-invalid = Chagua angalau kundi moja, andika sababu ya angalau herufi { $min }, na muda usiozidi { $limit }.
emergency-access-minutes = { $count ->
    [one] dakika 1
   *[other] dakika { $count }
}
emergency-access-hours = { $count ->
    [one] saa 1
   *[other] saa { $count }
}
emergency-access-group-identity = Utambulisho (majina, tarehe ya kuzaliwa, nyaraka)
emergency-access-group-contact = Mawasiliano (simu, anwani, mahali alipo)
emergency-access-group-exploitation = Unyonyaji (maelezo, mahali, wahalifu)
emergency-access-group-health = Afya
emergency-access-group-legal = Sheria (uhamiaji, mashauri)
emergency-access-group-notes = Maelezo ya shauri

coordination-title = Uratibu
coordination-deadlines = Tarehe za mwisho za NRM
coordination-no-deadlines = Hakuna uamuzi wala kipindi cha kupona cha mashauri ya nchi yako kinachosubiriwa.
coordination-deadline-count = { $count ->
    [one] Tarehe moja ya mwisho, { $overdue } zimepitwa.
   *[other] Tarehe { $count } za mwisho, { $overdue } zimepitwa, iliyo karibu zaidi kwanza.
}
coordination-referrals = Rufaa kwa shirika linalopokea
coordination-referrals-at = Takwimu kufikia { $at } (Saa za Afrika Mashariki).
coordination-no-referrals = Bado hakuna rufaa.
coordination-organisation = Shirika
coordination-received = Zilizopokelewa
coordination-open = Zilizo wazi
coordination-overdue = Zilizochelewa
coordination-accepted = Zilizokubaliwa
coordination-declined = Zilizokataliwa
coordination-expired = Zilizokwisha muda
coordination-completed = Zilizokamilika
coordination-mean-hours = Wastani wa saa hadi kujibiwa

statistics-title = Majedwali ya takwimu
statistics-refused = Jedwali hili haliwezi kutengenezwa: chagua mgawanyo mwingine (vipimo viwili tofauti vinavyohusu kinachohesabiwa).
statistics-subject = Kinachohesabiwa
statistics-subject-people = Watu (mashauri na taarifa zisizo na majina)
statistics-subject-referrals = Rufaa
statistics-rows = Mistari
statistics-columns = Safu
statistics-columns-hint = Si lazima: kipimo cha pili.
statistics-show = Onyesha jedwali
statistics-threshold = Takwimu zilizo chini ya { $threshold } hazionyeshwi, na nyingine chache hufichwa pamoja nazo, ili mtu yeyote asiweze kutambulika.
statistics-legend = Ufunguo
statistics-symbol-star = Nyota
statistics-symbol-dagger = Alama ya msalaba
statistics-below = Imefichwa: chini ya { $threshold }.
statistics-below-short = imefichwa, chini ya { $threshold }
statistics-complementary = Imefichwa ili takwimu ndogo isiweze kukokotolewa kutoka kwa jumla.
statistics-complementary-short = imefichwa kulinda takwimu ndogo
statistics-suppressed-count = { $count ->
    [0] Hakuna takwimu iliyofichwa katika jedwali hili.
    [one] Takwimu moja ya jedwali hili imefichwa.
   *[other] Takwimu { $count } za jedwali hili zimefichwa.
}
statistics-total = Jumla
statistics-caption-one = { $unit } kwa { $rows }
statistics-caption-two = { $unit } kwa { $rows } na { $columns }
statistics-unit-people = Watu
statistics-unit-people-by-exploitation-type = Watu (mara moja kwa kila aina ya unyonyaji)
statistics-unit-referrals = Rufaa
statistics-unit-referrals-by-exploitation-type = Rufaa (mara moja kwa kila aina ya unyonyaji)
statistics-dim-year = Mwaka
statistics-dim-quarter = Robo mwaka
statistics-dim-month = Mwezi
statistics-dim-sex = Jinsia
statistics-dim-age-band = Kundi la umri
statistics-dim-age-group = Mtu mzima au mtoto
statistics-dim-citizenship = Uraia
statistics-dim-exploitation-type = Aina ya unyonyaji
statistics-dim-exploitation-country = Nchi ya unyonyaji
statistics-dim-region = Mkoa
statistics-dim-identification-stage = Hatua ya utambuzi
statistics-dim-case-status = Hali ya shauri
statistics-dim-organisation-kind = Aina ya shirika
statistics-dim-organisation = Shirika
statistics-dim-flow = Ndani ya nchi au kuvuka mpaka
statistics-dim-record-kind = Shauri au taarifa isiyo na jina
statistics-dim-urgency = Uharaka wa rufaa
statistics-dim-referral-state = Matokeo ya rufaa
statistics-dim-referral-flow = Rufaa ndani ya nchi au nje
statistics-value-adult = Mtu mzima
statistics-value-child = Mtoto
statistics-value-cross-border = Kuvuka mpaka
statistics-value-domestic = Ndani ya nchi
statistics-value-unknown = Haijulikani
statistics-value-anonymous-notification = Taarifa isiyo na jina
statistics-value-case = Shauri
statistics-value-not-recorded = Haijarekodiwa
statistics-value-not-applicable = Haihusiki
