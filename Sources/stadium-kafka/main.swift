StadiumKafka.main()
