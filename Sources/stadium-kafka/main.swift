await StadiumKafka.mainAsync()
