DROP TABLE variants;
DROP TABLE products;
DROP TABLE categories;
DROP TABLE brands;
