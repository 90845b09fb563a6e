## Viashiria vya uchunguzi (ILO/Tume ya Ulaya) na makundi yake, kwa Kiswahili. Kwa Kiingereza,
## maandiko ya orodha yenyewe hutumika (rules/screening.rs).

v-dimension-deceptive-recruitment = Uajiri wa udanganyifu
v-dimension-coercive-recruitment = Uajiri wa kulazimishwa (pamoja na uhamisho na usafirishaji)
v-dimension-recruitment-by-abuse-of-vulnerability = Uajiri kwa kutumia vibaya hali ya udhaifu
v-dimension-exploitation = Mazingira ya kazi ya unyonyaji
v-dimension-coercion-at-destination = Kulazimishwa mahali alipopelekwa
v-dimension-abuse-of-vulnerability-at-destination = Kutumiwa vibaya kwa hali ya udhaifu mahali alipopelekwa

v-indicator-dr-nature-of-job = Alidanganywa kuhusu aina ya kazi, mahali pake au mwajiri
v-indicator-dr-wages = Alidanganywa kuhusu mshahara au mapato
v-indicator-dr-conditions-of-work = Alidanganywa kuhusu mazingira ya kazi
v-indicator-dr-contract = Alidanganywa kuhusu maudhui au uhalali wa mkataba wa kazi
v-indicator-dr-housing = Alidanganywa kuhusu makazi na hali ya maisha
v-indicator-dr-legal-documents = Alidanganywa kuhusu hati za kisheria au kupata hadhi halali ya uhamiaji
v-indicator-dr-travel = Alidanganywa kuhusu safari na masharti ya uajiri
v-indicator-dr-family-reunification = Alidanganywa kuhusu kuunganishwa na familia
v-indicator-dr-marriage-or-adoption = Alidanganywa kwa ahadi za ndoa au kuasiliwa
v-indicator-dr-education = Alidanganywa kuhusu nafasi za elimu

v-indicator-cr-violence = Ukatili dhidi ya mtu huyo
v-indicator-cr-threats-of-violence = Vitisho vya ukatili dhidi ya mtu huyo
v-indicator-cr-abduction-or-sale = Utekaji, ndoa ya kulazimishwa, kuasiliwa kwa kulazimishwa au kuuzwa kwa mtu huyo
v-indicator-cr-debt-bondage = Utumwa wa madeni
v-indicator-cr-confiscation-of-documents = Kunyang'anywa hati
v-indicator-cr-isolation = Kutengwa, kufungiwa au kuchunguzwa
v-indicator-cr-threat-of-denunciation = Kitisho cha kushtakiwa kwa mamlaka
v-indicator-cr-threat-to-inform-family = Vitisho vya kuiarifu familia, jamii au umma
v-indicator-cr-violence-on-family = Ukatili dhidi ya familia (kutishiwa au kufanyika)
v-indicator-cr-withholding-of-money = Kuzuiliwa fedha

v-indicator-rv-difficult-family-situation = Kutumiwa vibaya kwa hali ngumu ya familia
v-indicator-rv-illegal-status = Kutumiwa vibaya kwa hali ya uhamiaji isiyo rasmi
v-indicator-rv-lack-of-education = Kutumiwa vibaya kwa ukosefu wa elimu (lugha)
v-indicator-rv-lack-of-information = Kutumiwa vibaya kwa ukosefu wa taarifa
v-indicator-rv-control-of-exploiters = Kudhibitiwa na wanyonyaji
v-indicator-rv-economic-reasons = Sababu za kiuchumi
v-indicator-rv-false-information-migration = Taarifa za uongo kuhusu mafanikio ya uhamiaji
v-indicator-rv-false-information-law = Taarifa za uongo kuhusu sheria au msimamo wa mamlaka
v-indicator-rv-family-situation = Hali ya familia
v-indicator-rv-personal-situation = Hali binafsi
v-indicator-rv-emotional-dependency = Utegemezi wa kisaikolojia na kihisia
v-indicator-rv-relationship-with-authorities = Uhusiano na mamlaka au hadhi ya kisheria
v-indicator-rv-difficulties-in-the-past = Matatizo ya zamani
v-indicator-rv-difficulty-to-organise-travel = Ugumu wa kupanga safari
v-indicator-rv-cultural-or-religious-beliefs = Kutumiwa vibaya kwa imani za kitamaduni au kidini
v-indicator-rv-general-context = Mazingira ya jumla (vita, maafa, hali ya kisiasa)

v-indicator-ex-excessive-hours = Siku au saa za kazi zilizopita kiasi
v-indicator-ex-low-or-no-salary = Mshahara mdogo au kutolipwa kabisa
v-indicator-ex-wage-manipulation = Kuchezewa mshahara (faini, makato, malipo kwa dalali)
v-indicator-ex-bad-living-conditions = Hali mbaya ya maisha
v-indicator-ex-bad-working-conditions = Mazingira mabaya sana ya kazi
v-indicator-ex-hazardous-work = Kazi ya hatari
v-indicator-ex-no-respect-of-labour-law = Kutoheshimiwa kwa sheria za kazi au mkataba uliosainiwa
v-indicator-ex-no-social-protection = Kukosa hifadhi ya jamii (mkataba, bima ya jamii)
v-indicator-ex-no-access-to-education = Kukosa fursa ya elimu

v-indicator-cd-confiscation-of-documents = Kunyang'anywa hati
v-indicator-cd-debt-bondage = Utumwa wa madeni
v-indicator-cd-isolation = Kutengwa, kufungiwa au kuchunguzwa
v-indicator-cd-violence = Ukatili dhidi ya mtu huyo
v-indicator-cd-threats-of-violence = Vitisho vya ukatili dhidi ya mtu huyo
v-indicator-cd-illicit-activities = Kulazimishwa kufanya shughuli haramu au za kihalifu
v-indicator-cd-forced-tasks = Kulazimishwa kazi au wateja
v-indicator-cd-strong-influence = Yuko chini ya ushawishi mkubwa
v-indicator-cd-act-against-peers = Kulazimishwa kuwadhuru wenzake
v-indicator-cd-lie-to-authorities = Kulazimishwa kudanganya mamlaka, familia au wengine
v-indicator-cd-threat-of-denunciation = Kitisho cha kushtakiwa kwa mamlaka
v-indicator-cd-worse-conditions = Kitisho cha kuwekewa mazingira mabaya zaidi ya kazi
v-indicator-cd-violence-on-family = Ukatili dhidi ya familia (kutishiwa au kufanyika)
v-indicator-cd-withholding-of-wages = Kuzuiliwa mshahara
v-indicator-cd-threat-to-inform-family = Vitisho vya kuiarifu familia, jamii au umma

v-indicator-vd-dependency-on-exploiters = Kuwategemea wanyonyaji
v-indicator-vd-unknown-area = Ugumu wa kuishi mahali asipopajua
v-indicator-vd-economic-reasons = Sababu za kiuchumi
v-indicator-vd-family-situation = Hali ya familia
v-indicator-vd-relationship-with-authorities = Uhusiano na mamlaka au hadhi ya kisheria
v-indicator-vd-difficulties-in-the-past = Matatizo ya zamani
v-indicator-vd-personal-characteristics = Sifa binafsi
