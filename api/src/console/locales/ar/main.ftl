## العربية (مُعدّة: الرسائل غير المترجمة تظهر بالإنجليزية).

nav-work = عملي
nav-cases = الحالات
nav-referrals = الإحالات
nav-account = حسابي
sign-out = تسجيل الخروج
sign-in-title = تسجيل الدخول
sign-in = تسجيل الدخول
language = اللغة:
month-1 = يناير
month-2 = فبراير
month-3 = مارس
month-4 = أبريل
month-5 = مايو
month-6 = يونيو
month-7 = يوليو
month-8 = أغسطس
month-9 = سبتمبر
month-10 = أكتوبر
month-11 = نوفمبر
month-12 = ديسمبر
