"""English as read in Europe: day before month, 24-hour clock ("4 Dec 2026, 15:00").

Django's own English formats are American ("12/04/2026 3 p.m." is 4 December, which a
reader in France takes for 12 April). Only display formats are set here: input formats
stay Django's, whose first entry (ISO 8601) is what the date and datetime-local widgets
use. Every page, e-mail and chat message goes through these names (core.when).
"""

DATE_FORMAT = "j M Y"  # 4 Dec 2026
DATETIME_FORMAT = "j M Y, H:i"  # 4 Dec 2026, 15:00
TIME_FORMAT = "H:i"  # 15:00
SHORT_DATE_FORMAT = DATE_FORMAT
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
MONTH_DAY_FORMAT = "j F"  # 4 December
YEAR_MONTH_FORMAT = "F Y"  # December 2026
FIRST_DAY_OF_WEEK = 1  # Monday
