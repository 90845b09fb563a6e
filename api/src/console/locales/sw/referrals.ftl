## Rufaa: kumpa mtu rufaa, rufaa zilizopokelewa na zilizotumwa, rufaa moja (Kiswahili).

## Kumpa mtu rufaa (/console/cases/{id}/refer)
refer-title = Toa rufaa kwa shauri { $reference }
refer-back-to-case = Rudi kwenye shauri
refer-consent = Ridhaa ya mtu huyu
refer-consent-referral = Amekubali kupewa rufaa
refer-consent-recipients = Taarifa zinaweza kushirikishwa na
refer-consent-nobody = Hakuna bado
refer-consent-groups = Taarifa zinazohusika
refer-summary-only = Muhtasari pekee
refer-change-consent = Badilisha ridhaa
refer-record-consent = Rekodi ridhaa ya mtu huyu
refer-no-consent = Hakuna ridhaa inayotumika kwa mtu huyu. Rufaa inahitaji ridhaa yake (kwa mtoto, ridhaa ya mzazi au mlezi, au msingi wa maslahi bora ya mtoto uliorekodiwa).
refer-so-far = Rufaa za shauri hili hadi sasa
refer-search = Tafuta huduma
refer-field-service = Huduma
refer-field-country = Nchi
refer-field-country-hint = Herufi mbili, kwa mfano UG au KE. Acha wazi kwa nchi yoyote.
refer-field-region = Mkoa au wilaya
refer-field-region-hint = Huduma za nchi nzima zinaonyeshwa pia.
refer-field-for = Kwa ajili ya
refer-for-adult = Mtu mzima
refer-for-child = Mtoto
refer-field-sex = Inahudumia
refer-field-with-room = Huduma zenye nafasi sasa tu
refer-search-button = Tafuta
refer-country-invalid = Andika nchi kwa herufi mbili, kwa mfano UG.
refer-results = Huduma zilizopatikana
refer-no-results = Hakuna huduma inayolingana. Panua utafutaji: mkoa mwingine, au bila mkoa.
refer-result-count = { $count ->
    [one] Huduma moja.
   *[other] Huduma { $count }.
}
refer-results-capped = Zinaonyeshwa { $count } za kwanza tu: punguza utafutaji ili kuona nyingine.
refer-your-referral = Rufaa yako haikutumwa
refer-kind = Aina ya shirika
refer-area = Eneo
refer-serves = Inahudumia
refer-serves-all-ages = Watu wazima na watoto
refer-serves-adults = Watu wazima
refer-serves-children = Watoto
refer-capacity = Nafasi sasa
refer-own-organisation = Hili ni shirika lako mwenyewe: toa rufaa kwa shirika jingine.
refer-field-groups = Taarifa za kushirikisha rufaa ikikubaliwa
refer-field-groups-hint = Chagua tu kile ambacho huduma hii inahitaji. Muhtasari (jinsia, kundi la umri, uraia) huambatana na kila rufaa.
refer-not-covered = (ridhaa haihusu hili)
refer-field-urgency = Jibu linahitajika kwa haraka kiasi gani
refer-field-reason = Kwa nini unampa mtu huyu rufaa
refer-field-reason-hint = Hadi herufi 2000, zitasomwa na mashirika haya mawili tu. Andika tu kile ambacho mtu amekubali kishirikishwe nao.
refer-submit = Toa rufaa hapa

## Kwa nini rufaa haikutumwa
refer-gap-none = Hakuna ridhaa inayotumika kwa mtu huyu. Rekodi kwanza ridhaa yake ya kupewa rufaa.
refer-gap-child = Mtu huyu anachukuliwa kuwa mtoto: rufaa inahitaji ridhaa ya mzazi au mlezi, au msingi wa maslahi bora ya mtoto uliorekodiwa, si ridhaa ya mtoto mwenyewe. Irekodi kwanza.
refer-gap-purpose = Mtu huyu hajakubali kupewa rufaa kwenda huduma nyingine. Rekodi ridhaa yake kwanza.
refer-gap-recipient = Mtu huyu hajakubali taarifa zake zishirikishwe na { $recipient ->
        [shelter] makazi salama
        [ngo] shirika lisilo la kiserikali
        [health] huduma ya afya
        [legal_aid] mtoa msaada wa kisheria
        [child_protection] huduma ya ulinzi wa mtoto
        [competent_authority] mamlaka husika
        [coordination_office] ofisi ya uratibu ya kitaifa
        [law_enforcement] polisi, idara ya uhamiaji au ukaguzi wa kazi
        [abroad] shirika la nchi nyingine
       *[other] shirika la aina hii
    }. Rekodi ridhaa yake kwanza.
refer-gap-abroad = Shirika hili liko katika nchi nyingine ({ $country }), na mtu huyu hajakubali taarifa zake zipelekwe nje ya nchi. Rekodi ridhaa yake kwanza.
refer-gap-groups = Mtu huyu hajakubali kushirikisha: { $groups }. Ondoa alama kwenye kile ambacho ridhaa yake haihusu, au rekodi ridhaa yake kwanza.
refer-gap-other = Ridhaa ya mtu huyu haihusu rufaa hii. Kagua ridhaa na uirekodi upya ikiwa anakubali.
refer-reason-length = Andika kwa nini unampa mtu huyu rufaa, kwa herufi zisizozidi 2000.
refer-groups-too-many = Huduma hii haihitaji taarifa zote ulizochagua: shirikisha tu kile inachohitaji.
refer-organisation-unavailable = Shirika hili haliwezi kupokea rufaa sasa. Chagua jingine.
refer-invalid = Rufaa haikuweza kutumwa kama ilivyo. Kagua fomu na ujaribu tena.
refer-already-open = Shauri hili tayari lina rufaa iliyo wazi kwa shirika hili.
refer-case-closed = Shauri hili limefungwa au linafungwa: haliwezi kupewa rufaa.

## Rufaa zilizopokelewa na zilizotumwa (/console/referrals)
referrals-title = Rufaa
referrals-filter = Chuja rufaa
referrals-both = Zilizopokelewa na zilizotumwa
referrals-field-box = Onyesha
referrals-show = Onyesha
referrals-inbox = Zilizopokelewa na shirika lako
referrals-outbox = Zilizotumwa na shirika lako
referrals-inbox-empty = Hakuna rufaa iliyopokelewa.
referrals-outbox-empty = Hakuna rufaa iliyotumwa.
referrals-inbox-more = Rufaa zaidi zilizopokelewa
referrals-outbox-more = Rufaa zaidi zilizotumwa
referrals-count = { $count ->
    [one] Rufaa moja, mpya kwanza.
   *[other] Rufaa { $count }, mpya kwanza.
}

## Rufaa moja (/console/referrals/{id})
referral-title = Rufaa
referral-reference = Kumbukumbu
referral-case = Shauri
referral-from = Kutoka
referral-to = Kwenda
referral-services = Huduma
referral-groups = Taarifa zinazoshirikishwa
referral-person = Mtu huyu
referral-person-child = Mtoto
referral-person-adult = Mtu mzima
referral-urgency = Uharaka
referral-state = Hali
referral-overdue = Muda umepita
referral-sent = Ilitumwa
referral-respond-by = Jibu linatakiwa kabla ya
referral-answered = Ilijibiwa
referral-started = Huduma ilianza
referral-ended = Ilimalizika
referral-cross-border = Kwenda nchi nyingine
referral-consent-form = Fomu ya ridhaa
referral-consent-form-attached = Imeambatishwa kwenye shauri, inasomwa na shirika linalopokea wakati rufaa imekubaliwa.
referral-reason = Kwa nini mtu huyu alipewa rufaa
referral-timeline = Kilichotokea
referral-by-deadline = muda wa kujibu ulipita
referral-actions = Unachoweza kufanya
referral-accept-hint = Ukikubali, shirika lako litaona taarifa zinazoshirikishwa, na wewe utakuwa mmoja wa wanaoshughulikia shauri hili.
referral-accept = Kubali
referral-start = Huduma imeanza
referral-complete = Huduma imekamilika
referral-withdraw = Ondoa rufaa
referral-decline-heading = Kataa
referral-decline-reason = Sababu
referral-decline-pick = Chagua sababu
referral-decline-choose = Chagua kwa nini unakataa.
referral-decline = Kataa
referral-no-longer = Hatua hii haiwezekani tena: rufaa imebadilika wakati huo huo (imejibiwa, imeondolewa au muda wake umepita). Hii ndiyo hali yake sasa.

## Maandiko ya misamiati ya rufaa (huduma na aina za mashirika pia: Kiingereza huchukua maandiko ya msamiati wenyewe)
v-referral-state-sent = Imetumwa, inasubiri jibu
v-referral-state-accepted = Imekubaliwa
v-referral-state-declined = Imekataliwa
v-referral-state-expired = Muda ulikwisha bila jibu
v-referral-state-in-service = Huduma inaendelea
v-referral-state-completed = Imekamilika
v-referral-state-withdrawn = Imeondolewa
v-referral-urgency-emergency = Dharura
v-referral-urgency-high = Haraka
v-referral-urgency-normal = Kawaida
v-decline-reason-no-capacity = Hakuna nafasi sasa
v-decline-reason-service-not-offered = Huduma hii haitolewi
v-decline-reason-outside-service-area = Nje ya eneo la huduma
v-decline-reason-not-eligible = Haihudumii kundi la umri au jinsia ya mtu huyu
v-decline-reason-safety-concern = Wasiwasi wa usalama
v-decline-reason-person-declined = Mtu mwenyewe amekataa
v-decline-reason-other = Sababu nyingine
v-capacity-available = Nafasi ipo
v-capacity-limited = Nafasi chache: uliza kwanza
v-capacity-full = Imejaa
v-serves-sex-any = Yeyote
v-serves-sex-female = Wanawake na wasichana
v-serves-sex-male = Wanaume na wavulana
v-service-type-education = Elimu
v-service-type-financial = Msaada wa kifedha
v-service-type-health = Afya
v-service-type-labour-exploitation-rehabilitation = Urekebishaji baada ya unyonyaji wa kazi
v-service-type-legal = Msaada wa kisheria
v-service-type-livelihood = Riziki
v-service-type-rights-based-training = Mafunzo kuhusu haki
v-service-type-sexual-exploitation-rehabilitation = Urekebishaji baada ya unyonyaji wa kingono
v-service-type-social-care = Huduma za ustawi wa jamii
v-service-type-shelter = Makazi
v-service-type-interpretation = Ukalimani
v-service-type-return-and-reintegration = Kurejea nyumbani na kujumuishwa tena
v-organisation-kind-shelter = Makazi ya muda
v-organisation-kind-ngo = Shirika lisilo la kiserikali
v-organisation-kind-police = Polisi
v-organisation-kind-immigration = Uhamiaji au huduma ya mpakani
v-organisation-kind-labour-inspectorate = Ukaguzi wa kazi
v-organisation-kind-health = Huduma ya afya
v-organisation-kind-legal-aid = Msaada wa kisheria
v-organisation-kind-child-protection = Ulinzi wa mtoto
v-organisation-kind-competent-authority = Mamlaka husika
v-organisation-kind-coordination-office = Ofisi ya uratibu ya taifa
v-organisation-kind-other = Nyingine
