## Maandiko ya misamiati (ujumbe v-<msamiati>-<msimbo>).

v-role-first-responder = Mhudumu wa kwanza
v-role-case-worker = Mfanyakazi wa shauri
v-role-supervisor = Msimamizi
v-role-competent-authority = Mamlaka husika
v-role-coordinator = Mratibu wa kitaifa
v-role-admin = Msimamizi wa mfumo
