## Français (préparé : les messages absents s'affichent en anglais).

nav-work = Mon travail
nav-cases = Dossiers
nav-referrals = Orientations
nav-account = Mon compte
sign-out = Se déconnecter
sign-in-title = Connexion
sign-in = Se connecter
language = Langue :
month-1 = janvier
month-2 = février
month-3 = mars
month-4 = avril
month-5 = mai
month-6 = juin
month-7 = juillet
month-8 = août
month-9 = septembre
month-10 = octobre
month-11 = novembre
month-12 = décembre
