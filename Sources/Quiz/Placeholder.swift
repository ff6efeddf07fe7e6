// Quiz: placeholder until the module lands.
enum QuizPlaceholder {}
