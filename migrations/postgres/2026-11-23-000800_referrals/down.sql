DROP TABLE notification_opt_outs;
DROP TABLE referral_events;
DROP TABLE referrals;
