## Labels of the vocabularies (message v-<vocabulary>-<code>); a code without a message shows its
## English label from the vocabulary itself.

v-role-first-responder = First responder
v-role-case-worker = Case worker
v-role-supervisor = Supervisor
v-role-competent-authority = Competent authority
v-role-coordinator = National coordinator
v-role-admin = System administrator
