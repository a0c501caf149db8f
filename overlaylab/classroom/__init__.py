"""What a class sees: the narrated walkthrough, exercises that check themselves, pictures, flat versus overlay."""
