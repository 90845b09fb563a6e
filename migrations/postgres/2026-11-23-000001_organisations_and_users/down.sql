DROP TABLE users;
DROP TABLE organisation_services;
DROP TABLE organisations;
